// The load generator with several ADS addresses: two real ads-servers on one database (made with
// adsctl by the load generator's fixture); shop i prefers address i % 2. When the first server is
// not there, or is SIGKILLed mid-run, the shops that prefer it fail over to the second, and the run's
// report says per shop where its link ended and how often it failed over.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/testing/listening_child.hpp"
#include "cardperso/testing/run_program.hpp"
#include "fixture.hpp"
#include "fixture_manifest.hpp"
#include "load_run.hpp"

namespace cardperso::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kShops = 4;

std::string errors_of(const LoadReport& r) {
  std::string out;
  for (const auto& [kind, n] : r.errors) out += kind + ": " + std::to_string(n) + "\n";
  for (const auto& e : r.first_errors) out += "  " + e + "\n";
  return out;
}

// A loopback port nothing listens on: bound, read, closed (the sandbox's network is the test's own).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

class LoadgenFailover : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = (std::filesystem::temp_directory_path() / "cardperso-loadgen-failover-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    FixturePlan fp;
    fp.adsctl = CARDPERSO_FAILOVER_ADSCTL;
    fp.dir = dir_;
    fp.shops = kShops;
    fp.retailers = kShops;
    auto fixture = make_fixture(fp);
    ASSERT_TRUE(fixture.ok()) << fixture.error().message;
    fixture_ = std::move(*fixture);
  }

  void TearDown() override {
    servers_.clear();
    std::error_code ec;
    if (!HasFailure()) std::filesystem::remove_all(dir_, ec);
  }

  testing::ListeningChild& start_server(const std::string& name) {
    std::vector<std::string> argv = {CARDPERSO_FAILOVER_ADS_SERVER, "--db", fixture_.db_path, "--master-key",
                                     fixture_.key_path, "--listen", "127.0.0.1:0", "--log-level", "info",
                                     "--log-file", dir_ + "/" + name + ".log"};
    // Every shop connects from 127.0.0.1 and runs sessions back to back: the per-address and per-link
    // limits would refuse most of them (as cardperso-loadgen, which turns them off too).
    for (const char* flag : {"--hello-rate", "--max-connections-per-address", "--address-failures",
                             "--max-handshakes-per-link-minute"})
      argv.insert(argv.end(), {flag, "0"});
    auto s = testing::ListeningChild::start(argv, 30s, 10s, name);
    if (!s) throw std::runtime_error(s.error().message);
    servers_.push_back(std::make_unique<testing::ListeningChild>(std::move(*s)));
    return *servers_.back();
  }

  LoadPlan plan(std::vector<net::Endpoint> ads, std::chrono::milliseconds duration) {
    LoadPlan p;
    p.mode = LoadMode::Handshake;
    p.ads = std::move(ads);
    p.duration = duration;
    p.warmup = 0ms;
    p.timeout = 5s;
    p.progress = false;
    for (const auto& s : fixture_.shops) {
      auto image = cardsim::load_image(s.retailer_image);
      if (!image) throw std::runtime_error(image.error().message);
      p.shops.push_back(ShopSetup{std::move(*image), s.retailer_pin, s.iccid_prefix, s.first_serial, s.blank_cards});
    }
    return p;
  }

  std::string dir_;
  Fixture fixture_;
  std::vector<std::unique_ptr<testing::ListeningChild>> servers_;
};

TEST_F(LoadgenFailover, ShopsPreferringAnAbsentServerStartOnTheOther) {
  const net::Endpoint absent{"127.0.0.1", closed_port()};
  ASSERT_NE(absent.port, 0);
  auto& b = start_server("ads-b");
  const auto r = run_load(plan({absent, b.endpoint()}, 1500ms));
  ASSERT_EQ(r.shop_links.size(), kShops);
  EXPECT_GT(r.sessions_ok, 0u) << (r.first_errors.empty() ? "" : r.first_errors[0]);
  for (std::size_t i = 0; i < kShops; ++i) {
    ASSERT_TRUE(r.shop_links[i].ads) << "shop " << i;
    EXPECT_EQ(*r.shop_links[i].ads, 1u) << "shop " << i;
    EXPECT_EQ(r.shop_links[i].address, b.endpoint().to_string());
    // Shops 0 and 2 prefer the absent one: each failed over once, at its first connect.
    EXPECT_EQ(r.shop_links[i].failovers, i % 2 == 0 ? 1u : 0u) << "shop " << i;
  }
  EXPECT_EQ(r.failovers, kShops / 2) << errors_of(r);
  EXPECT_EQ(r.errors.count("connect"), 0u) << "a failover is not a connect error";
}

TEST_F(LoadgenFailover, ShopsOfAKilledServerFailOverAndTheOthersStay) {
  auto& a = start_server("ads-a");
  auto& b = start_server("ads-b");
  const auto p = plan({a.endpoint(), b.endpoint()}, 4s);
  LoadReport r;
  std::thread shops([&] { r = run_load(p); });
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(::kill(a.pid(), SIGKILL), 0);
  shops.join();

  ASSERT_EQ(r.shop_links.size(), kShops);
  for (std::size_t i = 0; i < kShops; ++i) {
    ASSERT_TRUE(r.shop_links[i].ads) << "shop " << i;
    EXPECT_EQ(*r.shop_links[i].ads, 1u) << "shop " << i << " ended on " << r.shop_links[i].address;
    // A failed session drops the link too, and the next one is tried on A first again: at least one.
    if (i % 2 == 0)
      EXPECT_GE(r.shop_links[i].failovers, 1u) << "shop " << i << "\n" << errors_of(r);
    else
      EXPECT_EQ(r.shop_links[i].failovers, 0u) << "shop " << i << "\n" << errors_of(r);
  }
  EXPECT_GE(r.failovers, kShops / 2);
  EXPECT_GT(r.sessions_ok, 0u);
  // The killed server's shops lost the session in flight (an I/O error each), then carried on via B.
  EXPECT_LE(r.sessions_failed, kShops / 2);
}

// The command line: --setup-only writes the fixture down, two ads-servers are started on its database
// by somebody else (here: the test), and --ads-address runs the shops against them.
TEST(LoadgenCommandLine, RunsAgainstServersStartedOnItsSetUpDatabase) {
  std::string dir = (std::filesystem::temp_directory_path() / "cardperso-loadgen-cli-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string work = dir + "/work";
  const std::vector<std::string> common = {CARDPERSO_FAILOVER_LOADGEN, "--work-dir", work, "--mode", "handshake",
                                           "--shops", "2", "--adsctl", CARDPERSO_FAILOVER_ADSCTL};
  auto args = common;
  args.push_back("--setup-only");
  auto setup = testing::run_program(args, dir + "/setup.err", 60s);
  ASSERT_EQ(setup.exit_code, 0) << setup.out << setup.err;
  auto fixture = read_fixture_manifest(fixture_manifest_path(work));
  ASSERT_TRUE(fixture.ok()) << fixture.error().message;
  ASSERT_EQ(fixture->shops.size(), 2u);

  std::vector<std::unique_ptr<testing::ListeningChild>> servers;
  std::string addresses;
  for (const char* name : {"ads-a", "ads-b"}) {
    std::vector<std::string> argv = {CARDPERSO_FAILOVER_ADS_SERVER, "--db", fixture->db_path, "--master-key",
                                     fixture->key_path, "--listen", "127.0.0.1:0", "--log-file",
                                     dir + "/" + name + ".log"};
    for (const char* flag : {"--hello-rate", "--max-connections-per-address", "--address-failures",
                             "--max-handshakes-per-link-minute"})
      argv.insert(argv.end(), {flag, "0"});
    auto s = testing::ListeningChild::start(argv, 30s, 10s, name);
    ASSERT_TRUE(s) << s.error().message;
    servers.push_back(std::make_unique<testing::ListeningChild>(std::move(*s)));
    addresses += (addresses.empty() ? "" : ",") + servers.back()->endpoint().to_string();
  }
  args = common;
  args.insert(args.end(), {"--ads-address", addresses, "--duration-ms", "1000", "--warmup-ms", "0", "--no-baseline"});
  auto run = testing::run_program(args, dir + "/run.err", 60s);
  EXPECT_EQ(run.exit_code, 0) << run.out << testing::read_text_file(dir + "/run.err");
  const auto at = run.out.rfind("{\"bench\"");  // the last line: the JSON summary
  ASSERT_NE(at, std::string::npos) << run.out;
  const auto last = run.out.substr(at);
  const auto summary = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << run.out;
  EXPECT_GT(summary.value("sessions_ok", 0), 0) << last;
  EXPECT_EQ(summary.value("failovers", -1), 0) << last;
  // Shop 1 on the first address, shop 2 on the second: each address served one shop.
  for (const auto& server : servers)
    EXPECT_EQ(summary["shops_by_ads"].value(server->endpoint().to_string(), 0), 1) << last;
  servers.clear();
  std::error_code ec;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace cardperso::bench
