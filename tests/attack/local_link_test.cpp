// Attacks on the local link between the terminal and the shop PC (docs/security.md, PROTOCOL.md
// §6.5): L1 carries SK_D sealed under the pairing key. A relay on that link (and one between the DTD
// and the ADS) records every frame.
//   - Sniffed: nothing recorded on the local link holds a run of SK_D, the L1 opens under the DTD's
//     pairing key (the test knows it: the positive control, and the SK_D it gives opens the DTD's
//     channel-2 frames) and under no other key.
//   - Replayed: the L1 sent to the DTD a second time is refused and the session ends; no sealed frame
//     on either link repeats a nonce (key direction and counter) within its session.
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "attack_fixture.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "frame_edits.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace std::chrono_literals;

namespace {

// Every sealed frame seen, by link, channel, direction and session: the counters must never repeat
// (one key per channel and session, one GCM nonce per direction and counter).
class NonceLog {
 public:
  void record(const char* link, const RelayedFrame& f) {
    if (!f.sealed() || f.bytes.size() < kHeader + 8) return;
    std::lock_guard lock(mutex_);
    const auto key = std::make_tuple(std::string(link), f.channel(), static_cast<int>(f.direction), f.session());
    if (!seen_[key].insert(get_u64(f.bytes, kHeader)).second) ++repeats_;
    ++sealed_;
  }
  int sealed() const {
    std::lock_guard lock(mutex_);
    return sealed_;
  }
  int repeats() const {
    std::lock_guard lock(mutex_);
    return repeats_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::uint8_t, int, std::uint32_t>, std::set<std::uint64_t>> seen_;
  int sealed_ = 0, repeats_ = 0;
};

proto::Frame frame_of(const Bytes& bytes) {
  proto::FrameDecoder decoder;
  decoder.feed(bytes);
  auto next = decoder.next();
  return next.ok() && next->has_value() ? **next : proto::Frame{};
}

class LocalLink : public AttackFixture {};

}  // namespace

TEST_F(LocalLink, SniffedL1YieldsNoKey) {
  describe("sniff the local link: every frame between STE and DTD recorded, L1 included", "STE↔DTD",
           "no run of SK_D in anything recorded; L1 opens under the DTD's pairing key only");
  std::mutex mutex;
  std::vector<Bytes> local;  // everything the STE and the DTD sent each other
  std::optional<Bytes> l1, dtd_echo;
  ShopOptions shop;
  shop.ste_link = [&](const RelayedFrame& f, RelayOutput& out) {
    {
      std::lock_guard lock(mutex);
      local.push_back(f.bytes);
      if (f.direction == Direction::ToTarget && f.is(0, type::kHandover) && !l1) {
        l1 = f.bytes;
        fired("recorded the L1");
      }
    }
    out.forward(f.bytes);
  };
  shop.ads_link = [&](const RelayedFrame& f, RelayOutput& out) {
    {
      std::lock_guard lock(mutex);
      if (f.direction == Direction::ToTarget && f.sealed() && f.is(2, type::kEcho) && !dtd_echo) dtd_echo = f.bytes;
    }
    out.forward(f.bytes);
  };
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 0) << display_text();
  std::lock_guard lock(mutex);
  ASSERT_TRUE(l1.has_value()) << "no L1 crossed the local link";
  ASSERT_TRUE(dtd_echo.has_value()) << "no channel-2 Echo from the DTD";

  // The positive control: the DTD's pairing key opens the L1, and the SK_D in it opens channel 2.
  auto pairing = proto::load_pairing_file(dtd_pairing_);
  ASSERT_TRUE(pairing) << pairing.error().message;
  const proto::Frame handover = frame_of(*l1);
  auto decoded = proto::SessionKeyHandover::decode(handover.payload);
  ASSERT_TRUE(decoded) << decoded.error().message;
  auto sk_d = proto::open_sk_d(*pairing, handover.header, decoded->transcript_hash, decoded->sealed_sk_d);
  ASSERT_TRUE(sk_d) << sk_d.error().message;
  const proto::Frame echo = frame_of(*dtd_echo);
  proto::SecureChannel ads_side(*sk_d, decoded->transcript_hash, proto::Direction::AdsToDtd, proto::Direction::DtdToAds);
  ads_side.set_counters_for_test(0, get_u64(echo.payload, 0));
  EXPECT_TRUE(ads_side.open(echo).ok()) << "the SK_D sealed in L1 is not the session's channel-2 key";

  // What a sniffer without the pairing key has: no run of SK_D anywhere, and an L1 no other key opens.
  int runs = 0;
  for (const auto& bytes : local)
    for (std::size_t from = 0; from + 6 <= sk_d->size(); ++from)
      if (std::search(bytes.begin(), bytes.end(), sk_d->view().begin() + from, sk_d->view().begin() + from + 6) != bytes.end())
        ++runs;
  EXPECT_EQ(runs, 0) << "SK_D crossed the local link in clear";
  const SecretBytes stranger = crypto::random_secret(proto::kPairingKeySize);
  EXPECT_FALSE(proto::open_sk_d(stranger, handover.header, decoded->transcript_hash, decoded->sealed_sk_d))
      << "L1 opened under another pairing key";
  observe("recorded " + std::to_string(local.size()) + " local-link frames; runs of SK_D in them: " +
          std::to_string(runs) + "; L1 opened under the DTD's pairing key (and its SK_D opened the DTD's channel-2 Echo), "
          "not under another key; STE exit 0, session completed (a sniffer changes nothing)");
}

TEST_F(LocalLink, ReplayedL1IsRefusedAndNoNonceRepeats) {
  describe("replay L1: the STE's SK_D handover sent to the DTD a second time", "STE↔DTD",
           "the DTD refuses the second L1 and ends the session; no sealed frame on either link repeats a nonce");
  auto nonces = std::make_shared<NonceLog>();
  auto replayed = std::make_shared<bool>(false);
  auto mutex = std::make_shared<std::mutex>();
  ShopOptions shop;
  shop.ste_link = [this, nonces, replayed, mutex](const RelayedFrame& f, RelayOutput& out) {
    nonces->record("STE↔DTD", f);
    out.forward(f.bytes);
    std::lock_guard lock(*mutex);
    if (f.direction == Direction::ToTarget && f.is(0, type::kHandover) && !*replayed) {
      *replayed = true;
      out.send(Direction::ToTarget, f.bytes);
      fired("sent the STE's L1 to the DTD a second time");
    }
  };
  shop.ads_link = [nonces](const RelayedFrame& f, RelayOutput& out) {
    nonces->record("DTD↔ADS", f);
    out.forward(f.bytes);
  };
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  start_ste(port, ste_options()).wait_exit(60s);
  EXPECT_GE(fired_count(), 1u) << "the L1 never crossed the relay";
  for (const auto& note : fired_notes()) observe("relay: " + note);
  Expect e;
  e.dtd_log = "a second SK_D handover for session \\d+ is refused";
  e.ads_log = "session \\d+ ended: aborted: [^\\n]*second SK_D handover";
  check_outcome(e);
  EXPECT_GT(nonces->sealed(), 0);
  EXPECT_EQ(nonces->repeats(), 0) << "a sealed frame repeated a nonce";
  observe("sealed frames recorded on both links: " + std::to_string(nonces->sealed()) +
          ", repeated nonces: " + std::to_string(nonces->repeats()));
}
