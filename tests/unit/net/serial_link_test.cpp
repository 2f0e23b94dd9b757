// The STE<->DTD local link over a real pty pair made by socat (as on a shop PC without a serial
// cable): frames both ways, binary bytes intact, clear errors for wrong device paths.
#include "cardperso/net/serial_link.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "cardperso/testing/child_process.hpp"
#include "net_test_support.hpp"

namespace cardperso::net {
namespace {

using namespace test;

// The paths in complete "PTY is /dev/pts/N" lines of socat's log.
std::vector<std::string> pty_paths(const std::string& text) {
  std::vector<std::string> paths;
  const std::string marker = "PTY is ";
  for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    const auto start = at + marker.size();
    const auto end = text.find('\n', start);
    if (end == std::string::npos) break;  // line not complete yet
    paths.push_back(text.substr(start, end - start));
  }
  return paths;
}

// `socat -d -d pty,raw,echo=0 pty,raw,echo=0`, which prints "PTY is /dev/pts/N" twice on stderr,
// then "starting data transfer loop" once it has configured both ptys and relays bytes.
class SocatPtyPair {
 public:
  SocatPtyPair() {
    testing::ProcessSpec spec;
    spec.argv = {"socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"};
    spec.search_path = true;
    spec.in = testing::Stream::inherit();
    spec.err = testing::Stream::same_as_stdout();  // its log is on stderr
    auto started = testing::ChildProcess::start(std::move(spec));
    if (!started) throw std::runtime_error(started.error().message + " (apt-get install socat)");
    socat_ = std::move(*started);
    const bool ready = socat_->wait_for_line(std::regex("starting data transfer loop"), 5s).has_value();
    const std::string text = socat_->stdout_text();
    paths_ = pty_paths(text);
    if (paths_.size() < 2 || !ready) throw std::runtime_error("socat did not report two ptys; it said: " + text);
  }
  ~SocatPtyPair() { socat_->terminate(5s); }
  SocatPtyPair(const SocatPtyPair&) = delete;
  SocatPtyPair& operator=(const SocatPtyPair&) = delete;
  const std::string& a() const { return paths_[0]; }
  const std::string& b() const { return paths_[1]; }

 private:
  std::unique_ptr<testing::ChildProcess> socat_;
  std::vector<std::string> paths_;
};

Bytes every_byte_value() {
  Bytes b(256 * 4);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

TEST(SerialLink, CarriesFramesBothWaysThroughASocatPtyPair) {
  SocatPtyPair ptys;
  asio::io_context io;
  auto dtd = open_serial_link(io.get_executor(), ptys.a());
  ASSERT_TRUE(dtd.ok()) << dtd.error().message;
  auto ste = open_serial_link(io.get_executor(), ptys.b());
  ASSERT_TRUE(ste.ok()) << ste.error().message;
  EXPECT_EQ(dtd->peer(), ptys.a());

  // Every byte value, including CR, LF, XON/XOFF, ^C and ^D, must pass untouched.
  const Bytes binary = every_byte_value();
  ASSERT_TRUE(run_task(io, ste->write_frame(header(1, 0, proto::Channel::LinkControl), binary)).ok());
  auto at_dtd = run_task(io, dtd->read_frame(5s));
  ASSERT_TRUE(at_dtd.ok()) << at_dtd.error().message;
  EXPECT_EQ(at_dtd->payload, binary);
  EXPECT_EQ(at_dtd->header.channel, proto::Channel::LinkControl);

  // A pty holds only a few KiB, so large frames need the reader running while the writer writes.
  for (std::uint8_t i = 0; i < 3; ++i) {
    const Bytes payload = pattern(i == 2 ? proto::kMaxPayload : 700u * (i + 1), i);
    auto sent = std::make_shared<std::optional<Result<void>>>();
    auto writer = spawn(io.get_executor(), store_result(dtd->write_frame(header(i), payload), sent));
    auto at_ste = run_task(io, ste->read_frame(10s));
    run_to_completion(io, writer);
    ASSERT_TRUE(sent->has_value() && (*sent)->ok());
    ASSERT_TRUE(at_ste.ok()) << at_ste.error().message;
    EXPECT_EQ(at_ste->header.type, i);
    EXPECT_EQ(at_ste->payload, payload);
  }

  auto silent = run_task(io, ste->read_frame(150ms));
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.failure(), ReadFailure::Timeout);
}

TEST(SerialLink, WrongDevicePathsGetClearErrors) {
  asio::io_context io;
  auto missing = open_serial_link(io.get_executor(), "/dev/does-not-exist-cardperso");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot open serial link /dev/does-not-exist-cardperso"), std::string::npos)
      << missing.error().message;

  char name[] = "/tmp/cardperso-not-a-tty-XXXXXX";
  const int fd = ::mkstemp(name);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto regular = open_serial_link(io.get_executor(), name);
  ::unlink(name);
  ASSERT_FALSE(regular.ok());
  EXPECT_NE(regular.error().message.find("is not a terminal device"), std::string::npos) << regular.error().message;
}

}  // namespace
}  // namespace cardperso::net
