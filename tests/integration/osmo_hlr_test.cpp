// A real osmo-hlr (the Debian package) driven the way the e2e tests will: subscribers created over its
// CTRL interface, authentication tuples fetched over GSUP and held against osmo-auc-gen and our own
// Milenage, its database read directly. The CTRL client is written out here, byte by byte, so the
// test does not lean on the production HLR client it is meant to check later.
// Each case runs in its own pcsc-sandbox (network namespace): osmo-hlr's fixed ports are private.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/testing/gsup_client.hpp"
#include "cardperso/testing/osmo_auc_gen.hpp"
#include "cardperso/testing/osmo_hlr_process.hpp"
#include "cardperso/testing/tcp_connect.hpp"

namespace cardperso::testing {
namespace {

using namespace std::chrono_literals;

const std::string kImsi = "001010000000123";
const std::string kMsisdn = "41790000123";
constexpr int kMilenageAlgoId = 5;  // libosmocore enum osmo_auth_algo

// osmo-hlr's CTRL protocol: u16 big-endian length (counting the 0x00 and the text), 0xEE, 0x00, then
// "SET <id> <variable> <value>"; the answer is "SET_REPLY <id> <variable> <value>" or "ERROR <id> <text>".
class CtrlConnection {
 public:
  explicit CtrlConnection(const OsmoHlr& hlr) {
    auto fd = connect_tcp(hlr.ip(), hlr.ctrl_port(), 5s);
    if (fd) fd_ = *fd;
    else error_ = fd.error().message;
  }
  ~CtrlConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  CtrlConnection(const CtrlConnection&) = delete;
  CtrlConnection& operator=(const CtrlConnection&) = delete;
  const std::string& error() const { return error_; }

  // The answer's text, or "transport: ..." when the exchange itself failed.
  std::string set(const std::string& variable, const std::string& value) {
    const std::string text = "SET " + std::to_string(++id_) + " " + variable + " " + value;
    std::string frame;
    frame.push_back(static_cast<char>((text.size() + 1) >> 8));
    frame.push_back(static_cast<char>((text.size() + 1) & 0xFF));
    frame.push_back('\xEE');
    frame.push_back('\x00');
    frame += text;
    if (fd_ < 0) return "transport: " + error_;
    if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
      return "transport: send failed";
    for (;;) {  // skip TRAPs: only the answer with our id counts
      std::string header, body;
      if (!read_exactly(4, header)) return "transport: connection closed";
      const std::size_t len = (static_cast<unsigned char>(header[0]) << 8) | static_cast<unsigned char>(header[1]);
      if (len < 1 || len > 4096 || header[2] != '\xEE' || header[3] != '\x00') return "transport: not a CTRL frame";
      if (!read_exactly(len - 1, body)) return "transport: connection closed";
      if (body.rfind("SET_REPLY " + std::to_string(id_) + " ", 0) == 0 ||
          body.rfind("ERROR " + std::to_string(id_) + " ", 0) == 0)
        return body;
    }
  }

 private:
  bool read_exactly(std::size_t n, std::string& out) {
    out.resize(n);
    for (std::size_t got = 0; got < n;) {
      timeval tv{5, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  int id_ = 0;
  std::string error_;
};

// One case's directory and HLR, removed afterwards.
class HlrCase {
 public:
  HlrCase() : dir_(make_dir()), hlr_(dir_) {}
  ~HlrCase() {
    hlr_.kill();
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);  // kept for the log otherwise
  }
  OsmoHlr& hlr() { return hlr_; }

  // Creates kImsi with Milenage K/OPc and kMsisdn over CTRL; "" or what went wrong.
  std::string provision(ByteView k, ByteView opc) {
    CtrlConnection ctrl(hlr_);
    if (!ctrl.error().empty()) return ctrl.error();
    const std::string created = ctrl.set("subscriber.create", kImsi);
    if (created.rfind("SET_REPLY 1 subscriber.create ", 0) != 0) return "subscriber.create: " + created;
    const std::string by_imsi = "subscriber.by-imsi-" + kImsi;
    const std::string aud = ctrl.set(by_imsi + ".aud3g", "milenage," + to_hex(k) + ",opc," + to_hex(opc));
    if (aud != "SET_REPLY 2 " + by_imsi + ".aud3g OK") return "aud3g (value not shown): " + aud.substr(0, 40);
    const std::string msisdn = ctrl.set(by_imsi + ".msisdn", kMsisdn);
    if (msisdn != "SET_REPLY 3 " + by_imsi + ".msisdn OK") return "msisdn: " + msisdn;
    return "";
  }

 private:
  static std::string make_dir() {
    char tmpl[] = "/tmp/cardperso-hlr-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
  }

  std::string dir_;
  OsmoHlr hlr_;
};

Result<std::vector<AuthTuple>> fetch_tuples(const OsmoHlr& hlr, const std::string& imsi,
                                            std::optional<std::uint8_t>* cause = nullptr) {
  GsupClient::Options options;
  options.ip = hlr.ip();
  options.port = hlr.gsup_port();
  auto client = GsupClient::connect(options);
  if (!client) return client.error();
  auto tuples = (*client)->send_auth_info(imsi);
  if (cause != nullptr) *cause = (*client)->last_cause();
  return tuples;
}

TEST(OsmoHlr, SendAuthInfoTuplesMatchOsmoAucGenAndTheCardsAlgorithm) {
  HlrCase c;
  auto started = c.hlr().start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  const Bytes k = crypto::random_bytes(16);
  const Bytes opc = crypto::random_bytes(16);
  const std::string provisioned = c.provision(k, opc);
  ASSERT_EQ(provisioned, "") << c.hlr().log_tail();

  auto tuples = fetch_tuples(c.hlr(), kImsi);
  ASSERT_TRUE(tuples.ok()) << tuples.error().message << "\n" << c.hlr().log_tail();
  ASSERT_GE(tuples->size(), 1u);
  std::cout << "osmo-hlr sent " << tuples->size() << " tuples\n";
  for (std::size_t i = 0; i < tuples->size(); ++i) {
    SCOPED_TRACE("tuple " + std::to_string(i) + ", RAND " + to_hex((*tuples)[i].rand));
    const AuthTuple& t = (*tuples)[i];
    auto oracle = osmo_auc_gen_milenage(k, opc, t.rand);
    ASSERT_TRUE(oracle.ok()) << oracle.error().message;
    EXPECT_EQ(to_hex(t.sres), to_hex(oracle->sres));
    EXPECT_EQ(to_hex(t.kc), to_hex(oracle->kc));
    // The 3G half too, where osmo-hlr sent it: the same Milenage underneath.
    EXPECT_EQ(to_hex(t.res), to_hex(oracle->res));
    EXPECT_TRUE(t.ck == oracle->ck) << "CK differs from osmo-auc-gen's";
    EXPECT_TRUE(t.ik == oracle->ik) << "IK differs from osmo-auc-gen's";
    const milenage::GsmTriplet ours = milenage::gsm(k, opc, t.rand);
    EXPECT_EQ(to_hex(t.sres), to_hex(ours.sres)) << "SRES: osmo-hlr and cardperso::milenage disagree";
    EXPECT_EQ(to_hex(t.kc), to_hex(ours.kc)) << "Kc: osmo-hlr and cardperso::milenage disagree";
  }
  for (std::size_t i = 1; i < tuples->size(); ++i) EXPECT_NE((*tuples)[i].rand, (*tuples)[0].rand);

  auto count = c.hlr().subscriber_count();
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 1u);
  auto rows = c.hlr().subscribers();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  const HlrSubscriber& row = (*rows)[0];
  EXPECT_EQ(row.imsi, kImsi);
  EXPECT_EQ(row.msisdn, kMsisdn);
  EXPECT_TRUE(row.nam_cs);
  EXPECT_TRUE(row.nam_ps);
  EXPECT_EQ(row.algo_id_3g, kMilenageAlgoId);
  EXPECT_TRUE(row.k_hex == to_hex(k)) << "K in the HLR database differs from the K set over CTRL";
  EXPECT_TRUE(row.opc_hex == to_hex(opc)) << "OPc in the HLR database differs from the OPc set over CTRL";
  EXPECT_EQ(row.op_hex, "");
}

TEST(OsmoHlr, UnknownImsiGetsAGsupError) {
  HlrCase c;
  auto started = c.hlr().start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  std::optional<std::uint8_t> cause;
  auto tuples = fetch_tuples(c.hlr(), "001010000000999", &cause);
  ASSERT_FALSE(tuples.ok()) << "osmo-hlr sent " << tuples->size() << " tuples for an IMSI it does not have";
  std::cout << "osmo-hlr answered: " << tuples.error().message << "\n";
  ASSERT_TRUE(cause.has_value()) << tuples.error().message;
  EXPECT_EQ(*cause, 2) << "expected GMM cause 2, IMSI unknown in HLR";
  EXPECT_EQ(tuples.error().code, Errc::NotFound);
  auto count = c.hlr().subscriber_count();
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 0u) << "the HLR created a subscriber on demand";
}

TEST(OsmoHlr, RestartKeepsSubscribers) {
  HlrCase c;
  ASSERT_TRUE(c.hlr().start().ok()) << c.hlr().log_tail();
  const Bytes k = crypto::random_bytes(16);
  const Bytes opc = crypto::random_bytes(16);
  ASSERT_EQ(c.provision(k, opc), "") << c.hlr().log_tail();

  // A clean stop: the subscriber is in the file while no HLR runs.
  auto stopped = c.hlr().stop();
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_FALSE(c.hlr().running());
  auto rows = c.hlr().subscribers();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].imsi, kImsi);
  auto restarted = c.hlr().start();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  auto tuples = fetch_tuples(c.hlr(), kImsi);
  ASSERT_TRUE(tuples.ok()) << tuples.error().message;
  const auto first = milenage::gsm(k, opc, (*tuples)[0].rand);
  EXPECT_EQ(to_hex((*tuples)[0].sres), to_hex(first.sres));

  // A crash (SIGKILL, no clean close of the WAL database): readable at once, served after a restart.
  c.hlr().kill();
  EXPECT_FALSE(c.hlr().running());
  auto count = c.hlr().subscriber_count();
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 1u);
  auto after_crash = c.hlr().start();
  ASSERT_TRUE(after_crash.ok()) << after_crash.error().message;
  rows = c.hlr().subscribers();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].msisdn, kMsisdn);
  EXPECT_TRUE((*rows)[0].k_hex == to_hex(k)) << "K changed across the restarts";
  auto again = fetch_tuples(c.hlr(), kImsi);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_GE(again->size(), 1u);
}

}  // namespace
}  // namespace cardperso::testing
