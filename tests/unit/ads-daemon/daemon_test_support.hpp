#pragma once
// Shared by the ads-daemon and dtd-agent unit tests: a real ADS (SQLite file in a temporary
// directory, real TCP listener on loopback, serve_dtd_connection) and log capture. Coroutines are
// named functions with by-value parameters (no capturing coroutine lambdas).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "../ads-server/test_support.hpp"
#include "cardperso/ads/service/connection_session.hpp"
#include "cardperso/ads/store/sqlite_directory.hpp"
#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/key_check.hpp"
#include "cardperso/ads/store/migrations.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/ads/store/terminal_store.hpp"
#include "cardperso/net/tcp_listener.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace cardperso::daemon_test {

using namespace std::chrono_literals;
namespace asio = net::asio;

// Everything logged while it lives goes to a string as well as nowhere else.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }
  std::size_t count(const std::string& needle) {
    const std::string t = text();
    std::size_t n = 0;
    for (auto at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }
  bool contains(const std::string& needle) { return count(needle) > 0; }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// The ADS daemon and DTD agent tests' retailer keys: each counting by 3 from its own start.
inline proto::RetailerKeys make_keys(std::uint8_t seed) { return cardperso::testing::counting_retailer_keys(seed, 3); }

inline ads::RetailerKeys to_store_keys(const proto::RetailerKeys& k, std::uint8_t key_version) {
  return ads::RetailerKeys{key_version, k.k_ra, k.k_ia, k.k_s, k.k_d};
}

// A running ADS on 127.0.0.1:<ephemeral> over a fresh database file.
struct AdsUnderTest {
  explicit AdsUnderTest(asio::io_context& io, ads::ConnectionOptions options = {}, ads::LockoutPolicy lockout = {}) {
    db.emplace(ads::test::must(ads::open_ads_database(dir.file("ads.db"), ads::OpenMode::CreateNew)));
    ads::test::must(db->with_transaction([&] { return ads::bind_master_key(*db, key); }));
    directory.emplace(*db, key, lockout, "ads-server");
    server = std::make_shared<ads::ServerContext>(*directory, *directory, options);
    auto ctx = server;
    listener = ads::test::must(net::TcpListener::open(io, net::Endpoint{"127.0.0.1", 0}, net::ListenerOptions{},
                                                      [ctx](net::FramedStream s) {
                                                        return ads::serve_dtd_connection(ctx, std::move(s));
                                                      }));
    listener->start();
  }
  // Anonymous failures count against the source address from now on (address_penalties.hpp).
  void count_address_failures(ads::AddressPenaltyOptions options) {
    penalties.emplace(options);
    server->services.penalties = &*penalties;
  }
  ~AdsUnderTest() {
    server->request_stop();
    listener->stop(0ms);
  }

  // The retailer card, and the test terminal (testing::test_device_signer()) enrolled for it.
  void enrol(const std::string& serial, const proto::RetailerKeys& keys, std::uint8_t key_version = 1) {
    ads::AuditLog audit(*db, key);
    ads::RetailerStore store(*db, key, audit, "test");
    ads::test::must(store.enrol(serial, to_store_keys(keys, key_version), hex("0102030405060708")));
    ads::TerminalStore terminals(*db, audit, "test");
    ads::test::must(terminals.enrol(cardperso::testing::test_device_signer()->public_key(), serial, "test terminal"));
  }
  ads::RetailerSummary retailer(const std::string& serial) {
    ads::AuditLog audit(*db, key);
    ads::RetailerStore store(*db, key, audit, "test");
    auto found = ads::test::must(store.find(serial));
    if (!found) throw std::runtime_error("retailer not enrolled: " + serial);
    return *found;
  }
  std::vector<ads::SessionRecord> sessions() {
    ads::SessionStore store(*db);
    return ads::test::must(store.recent(100));
  }
  net::Endpoint endpoint() const { return {"127.0.0.1", listener->local_endpoint().port()}; }

  ads::test::TempDir dir;
  ads::MasterKey key = ads::MasterKey::from_bytes(hex("00112233445566778899aabbccddeeff"));
  std::optional<ads::AddressPenalties> penalties;
  std::optional<ads::Database> db;
  std::optional<ads::SqliteDirectory> directory;
  std::shared_ptr<ads::ServerContext> server;
  std::shared_ptr<net::TcpListener> listener;
};

// Runs the io_context until `condition` holds or `limit` passes; false on timeout.
inline bool run_until(asio::io_context& io, const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(10ms);
  }
  return true;
}

inline void run_for(asio::io_context& io, std::chrono::milliseconds how_long) {
  (void)run_until(io, [] { return false; }, how_long);
}

// The newest session row once its outcome is recorded (the journal is written right after the
// session's last frame goes out).
inline ads::SessionRecord last_finished_session(asio::io_context& io, AdsUnderTest& ads) {
  EXPECT_TRUE(run_until(io, [&] {
    auto s = ads.sessions();
    return !s.empty() && s.front().outcome.has_value();
  }, 3s));
  return ads.sessions().front();
}

}  // namespace cardperso::daemon_test
