// Sabotage by refusals (docs/security.md, proto/PROTOCOL.md §6.6): retailer serials are public, the
// enrolled terminal's public key is not secret, and anyone can connect to the ADS.
//   - Flood: 1,000 handshakes for the real serial from another address (127.0.0.2), naming the
//     enrolled terminal's public key, each with a wrong retailer cryptogram and no valid signature.
//     None counts against the retailer; the address is backed off; the real retailer, at its own
//     terminal, signs on right after within its normal time.
//   - Refusals before authentication are one answer: an unknown, a revoked and a locked card, and an
//     unenrolled terminal, all get the same Error bytes at the same time after the H1.
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>

#include "attack_fixture.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"
#include "frame_edits.hpp"
#include "raw_peer.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t k127_0_0_2 = 0x7f000002;

Bytes encoded(const proto::Frame& f) { return proto::encode_frame(f.header, f.payload); }

proto::DeviceKey device_key_of(const std::string& hex_text) {
  proto::DeviceKey key{};
  const Bytes b = hex(hex_text);
  std::copy(b.begin(), b.end(), key.begin());
  return key;
}

Bytes h1_frame(const std::string& serial, const proto::DeviceKey& terminal) {
  proto::HandshakeH1 h1;
  h1.key_version = 1;
  h1.serial = serial;
  crypto::random_bytes(h1.rn2);
  crypto::random_bytes(h1.rn4);
  crypto::random_bytes(h1.rn6);
  h1.share = crypto::x25519_public(crypto::random_secret(crypto::kX25519Size));
  h1.terminal = terminal;
  return encoded(proto::make_frame(proto::Channel::SteAds, 0, h1));
}

std::uint8_t type_of(const Bytes& frame) { return frame.size() > kTypeByte ? frame[kTypeByte] : 0; }

// The ADS's answer to a frame: the next frame on channel 1 (link keepalives skipped).
std::optional<Bytes> answer(RawPeer& peer, std::chrono::milliseconds timeout = 5s) {
  for (;;) {
    auto f = peer.read_frame(timeout);
    if (!f || (*f)[3] != 0) return f;
  }
}

bool hello(RawPeer& peer, const std::string& name) {
  return peer.connected() && peer.send(link_hello_frame(name)) && peer.read_frame(5s).has_value();
}

class Lockout : public AttackFixture {};

}  // namespace

TEST_F(Lockout, ThousandWrongAttemptsFromAnotherAddressCostTheRetailerNothing) {
  describe("1,000 handshakes for the real serial from another address (127.0.0.2), naming the enrolled terminal's "
           "public key, each H3 with a wrong cryptogram and a forged signature",
           "raw TCP → ADS",
           "none counted against the retailer (failure count 0); the address backed off; the real retailer signs on "
           "right after, in its normal time");
  const int port = open_shop({});
  ASSERT_FALSE(HasFailure());
  // The retailer's normal time, measured first.
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(start_ste(port, ste_options()).wait_exit(60s), 0) << display_text();
  const auto normal = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(wait_no_open_session(10s));

  const proto::DeviceKey enrolled = device_key_of(device_public_key_);
  std::map<std::string, int> outcomes;
  int attempts = 0;
  for (int link = 0; attempts < 1000 && link < 200; ++link) {
    RawPeer peer(ads_port_, k127_0_0_2);
    if (!hello(peer, "flood")) {
      ++outcomes["link refused"];
      continue;
    }
    while (attempts < 1000) {
      ++attempts;
      if (!peer.send(h1_frame(kSerial, enrolled))) break;
      auto first = answer(peer);
      if (!first) {
        ++outcomes["link closed"];
        break;
      }
      if (type_of(*first) == type::kH2) {
        // A forged H3: the cryptogram and the signature are random.
        const std::uint32_t session = get_u32(*first, kSessionField);
        proto::HandshakeH3 h3;
        crypto::random_bytes(h3.retailer_cryptogram);
        crypto::random_bytes(h3.confirm_s);
        crypto::random_bytes(h3.confirm_d);
        crypto::random_bytes(h3.terminal_signature);
        peer.send(encoded(proto::make_frame(proto::Channel::SteAds, session, h3)));
        auto second = answer(peer);
        const auto code = second && type_of(*second) == type::kError ? get_u16(*second, kHeader) : 0;
        ++outcomes["H2, then Error " + std::to_string(code)];
      } else if (type_of(*first) == type::kError) {
        ++outcomes["Error " + std::to_string(get_u16(*first, kHeader))];
      } else {
        ++outcomes["other"];
      }
    }
  }
  EXPECT_EQ(attempts, 1000);
  std::string summary;
  for (const auto& [what, n] : outcomes) summary += (summary.empty() ? "" : ", ") + what + " ×" + std::to_string(n);
  observe("the flood's answers: " + summary);
  EXPECT_EQ(outcomes["H2, then Error 6"], 0) << summary;  // no retailer cryptogram was ever looked at
  EXPECT_GT(outcomes["H2, then Error 18"], 0) << summary;
  EXPECT_GT(outcomes["Error 13"], 0) << summary;  // Busy: the address backed off
  EXPECT_TRUE(log_match(ads_log_, "127\\.0\\.0\\.2 backed off for \\d+ s after \\d+ failed attempts", 5s));
  EXPECT_EQ(failed_auth_count(kSerial), 0);

  started = std::chrono::steady_clock::now();
  ASSERT_EQ(start_ste(port, ste_options()).wait_exit(60s), 0) << display_text();
  const auto after = std::chrono::steady_clock::now() - started;
  EXPECT_LE(after, std::max<std::chrono::nanoseconds>(2 * normal, normal + 2s))
      << "normal " << std::chrono::duration<double>(normal).count() << " s, after the flood "
      << std::chrono::duration<double>(after).count() << " s";
  observe("the real retailer signed on after the flood in " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(after).count()) + " ms (before it: " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(normal).count()) +
          " ms); failed_auth_count = " + std::to_string(failed_auth_count(kSerial)));
}

TEST_F(Lockout, RefusalsBeforeAuthenticationAreIdentical) {
  describe("H1s for an unknown, a revoked and a locked card (terminal enrolled for each known one), and from an "
           "unenrolled terminal",
           "raw TCP → ADS", "the same Error (code 19, same text) at the same time after the H1 for every reason");
  const std::string revoked = "8944100000000000033", locked = "8944100000000000041", unknown = "8944100000000000058";
  ShopOptions shop;
  shop.ads_args = {"--address-failures", "0"};  // this test makes many refusals from one address on purpose
  shop.records = [&] {
    enrol(revoked);
    enrol(locked);
    EXPECT_EQ(adsctl({"retailer", "revoke", revoked}).exit_code, 0);
    // Locked as five failures from its own terminal would lock it (until 2100: it stays locked here).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    const std::string sql = "UPDATE retailers SET status = 'locked', locked_until = 4102444800, lockouts = 1 "
                            "WHERE serial = '" + locked + "'";
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  const proto::DeviceKey enrolled = device_key_of(device_public_key_);
  proto::DeviceKey stranger{};
  stranger.fill(0x42);
  const std::vector<std::pair<std::string, Bytes>> cases = {
      {"unknown card", h1_frame(unknown, enrolled)},
      {"revoked card", h1_frame(revoked, enrolled)},
      {"locked card", h1_frame(locked, enrolled)},
      {"unenrolled terminal", h1_frame(kSerial, stranger)}};
  std::set<Bytes> answers;
  std::map<std::string, std::vector<double>> latency_ms;
  RawPeer peer(ads_port_);
  ASSERT_TRUE(hello(peer, "prober"));
  for (int round = 0; round < 5; ++round) {
    for (const auto& [name, frame] : cases) {
      const auto sent = std::chrono::steady_clock::now();
      ASSERT_TRUE(peer.send(frame));
      auto reply = answer(peer);
      ASSERT_TRUE(reply) << name;
      latency_ms[name].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count());
      EXPECT_EQ(type_of(*reply), type::kError) << name;
      answers.insert(*reply);
    }
  }
  EXPECT_EQ(answers.size(), 1u) << "the refusals differ";
  std::vector<double> medians;
  std::string observed;
  for (auto& [name, v] : latency_ms) {
    std::sort(v.begin(), v.end());
    EXPECT_GE(v.front(), 50.0) << name << " answered before the refusal floor";
    medians.push_back(v[v.size() / 2]);
    observed += (observed.empty() ? "" : ", ") + name + " " + std::to_string(static_cast<int>(v[v.size() / 2])) + " ms";
  }
  const auto [lo, hi] = std::minmax_element(medians.begin(), medians.end());
  EXPECT_LT(*hi - *lo, 10.0) << observed;
  observe("one answer for all four (Error " + std::to_string(get_u16(*answers.begin(), kHeader)) +
          "); median time after the H1: " + observed);
  // The log says why (the unknown card's reason is its terminal: enrolled for other cards only).
  const std::vector<std::string> reasons = {
      "retailer revoked", "retailer locked",
      "terminal not enrolled: device key [0-9a-f]{16}\\.\\.\\. is enrolled for another retailer, not for card " + unknown,
      "terminal not enrolled: device key 4242424242424242\\.\\.\\. is not enrolled at this issuer"};
  for (const auto& why : reasons)
    EXPECT_TRUE(log_match(ads_log_, "refused: " + why, 1s)) << "the ADS log does not say " << why;
}
