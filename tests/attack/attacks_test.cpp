// The hostile relay against the real programs: each test places a FrameProxy (testing/) between STE and DTD
// and/or between DTD and ADS (or talks to the ADS over raw TCP), performs one named attack and
// checks that the session ends with the specific reason logged, that no attacked session is left
// open or completed, and that the retailer card image and the database did not change (except a
// failed retailer authentication the ADS legitimately counts). Each test writes one row of the
// outcome table in docs/security.md.
#include <algorithm>
#include <mutex>

#include "attack_fixture.hpp"
#include "frame_edits.hpp"
#include "raw_peer.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSteLink = "STE↔DTD";
constexpr const char* kAdsLink = "DTD↔ADS";

const std::string kDecryptAds = "session \\d+ ended: aborted: [^\\n]*failed authentication[^\\n]*";
const std::string kCounterAds = "session \\d+ ended: aborted: [^\\n]*replayed, reordered or dropped[^\\n]*";
const std::string kDecryptSte = "Refused: a sealed message failed authentication";
const std::string kCounterSte = "Refused: a sealed message was replayed, reordered or dropped";

enum class Position { Header, Counter, Ciphertext, Tag };

const char* name(Position p) {
  switch (p) {
    case Position::Header: return "header (type byte, in the AAD)";
    case Position::Counter: return "counter";
    case Position::Ciphertext: return "ciphertext";
    case Position::Tag: return "tag";
  }
  return "";
}

std::size_t byte_of(Position p, const RelayedFrame& f) {
  switch (p) {
    case Position::Header: return kTypeByte;
    case Position::Counter: return kCounterLastByte;
    case Position::Ciphertext: return kFirstCiphertextByte;
    case Position::Tag: return f.bytes.size() - 1;
  }
  return 0;
}

std::string hex_type(std::uint8_t t) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[t >> 4] + digits[t & 15];
}

class Attacks : public AttackFixture {
 protected:
  using Edit = std::function<Bytes(const RelayedFrame&)>;
  using Offset = std::function<std::size_t(const RelayedFrame&)>;
  using Action = std::function<void(const RelayedFrame&, RelayOutput&)>;

  // The outcomes most attacks share, so that each test names only its log line and display text.
  // The STE refuses (exit 2) showing `ste_display`; the ADS log matches `ads_log`.
  static Expect ste_refuses(std::string ads_log, std::string ste_display, std::int64_t failures = 0) {
    Expect e;
    e.ads_log = std::move(ads_log);
    e.ste_exit = 2;
    e.ste_display = std::move(ste_display);
    e.failures = failures;
    return e;
  }
  // The ADS refuses the handshake, or aborts the established session, for `reason`, and the STE
  // shows that same reason.
  static Expect refused_for(const std::string& reason, std::int64_t failures = 0) {
    return ste_refuses("session \\d+ refused: " + reason, "Refused: " + reason, failures);
  }
  // Refused at H1: the STE shows the one answer before authentication; the ADS's log says why.
  static Expect refused_at_h1(const std::string& log_reason) {
    return ste_refuses("session \\d+ refused: " + log_reason, "Refused: not accepted by the issuer");
  }
  static Expect aborted_for(const std::string& reason) {
    return ste_refuses("session \\d+ ended: aborted: " + reason, "Refused: " + reason);
  }
  // The DTD drops the STE link (its log matches `dtd_log`) before any session reaches the ADS.
  static Expect dtd_drops_ste(std::string dtd_log) {
    Expect e;
    e.dtd_log = std::move(dtd_log);
    e.ste_exit = 2;
    e.ste_display = "Refused: DTD link lost";
    e.no_session = true;
    return e;
  }

  // Where in a frame a flip lands: a fixed offset, or a field located from the frame's own bytes.
  static Offset fixed_at(std::size_t at) {
    return [at](const RelayedFrame&) { return at; };
  }
  static Offset field_at(std::size_t (*field)(ByteView)) {
    return [field](const RelayedFrame& f) { return field(f.bytes); };
  }

  // Hands the first frame of this direction, channel and type to `act`, which decides what becomes
  // of it; every other frame passes.
  static Attack on_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, Action act) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    return [dir, channel, msg_type, act = std::move(act), done](const RelayedFrame& f, RelayOutput& out) {
      if (f.direction == dir && f.is(channel, msg_type) && !done->exchange(true)) {
        act(f, out);
        return;
      }
      out.forward(f.bytes);
    };
  }
  // Rewrites the first such frame with `edit`.
  Attack edit_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, Edit edit, std::string what) {
    return on_first(dir, channel, msg_type,
                    [this, change = std::move(edit), note = std::move(what)](const RelayedFrame& f, RelayOutput& out) {
                      out.forward(change(f));
                      fired(note);
                    });
  }
  Attack flip_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, Offset at, std::string what) {
    return edit_first(dir, channel, msg_type, [at](const RelayedFrame& f) { return flip_bit(f.bytes, at(f)); },
                      std::move(what));
  }
  // Sets the header's length field of the first such frame to kMaxPayload + 1.
  Attack oversize_first(Direction dir, std::uint8_t msg_type, std::string what) {
    return edit_first(dir, 1, msg_type, [](const RelayedFrame& f) { return with_oversized_length(f.bytes); },
                      std::move(what));
  }
  // Forwards the first such frame, then sends `extra(frame)` after it in the same direction.
  Attack inject_after_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, Edit extra, std::string what) {
    return on_first(dir, channel, msg_type,
                    [this, dir, extra = std::move(extra), note = std::move(what)](const RelayedFrame& f, RelayOutput& out) {
                      out.forward(f.bytes);
                      out.send(dir, extra(f));
                      fired(note);
                    });
  }
  Attack drop_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, std::string what) {
    return on_first(dir, channel, msg_type,
                    [this, note = std::move(what)](const RelayedFrame&, RelayOutput&) { fired(note); });
  }
  // Forwards only the first `keep` bytes of the first such frame, then closes both sides.
  Attack cut_first(Direction dir, std::uint8_t channel, std::uint8_t msg_type, std::size_t keep) {
    return on_first(dir, channel, msg_type, [this, msg_type, keep](const RelayedFrame& f, RelayOutput& out) {
      out.forward(Bytes(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(keep)));
      out.close();
      fired("sent " + std::to_string(keep) + " of the " + std::to_string(f.bytes.size()) + " bytes of " +
            hex_type(msg_type) + ", then closed both sides");
    });
  }

  void observe_fired() {
    for (const auto& n : fired_notes()) observe("relay: " + n);
  }

  // One STE run through a shop with the attack at `link`; then the checks.
  void run_attack(bool on_ste_link, Attack attack, const Expect& expect, int response_timeout_ms = 8000) {
    ShopOptions shop;
    (on_ste_link ? shop.ste_link : shop.ads_link) = std::move(attack);
    const int port = open_shop(std::move(shop));
    ASSERT_FALSE(HasFailure());
    start_ste(port, ste_options(response_timeout_ms)).wait_exit(60s);
    EXPECT_GE(fired_count(), 1u) << "the attack never found its frame";
    observe_fired();
    check_outcome(expect);
  }

  // A bit flip at `at` in the first handshake frame `msg_type` on the STE link.
  void handshake_flip(Direction dir, std::uint8_t msg_type, Offset at, std::string what, const Expect& expect) {
    run_attack(true, flip_first(dir, 1, msg_type, std::move(at), std::move(what)), expect);
  }

  void sealed_flip(bool on_ste_link, Direction dir, Position pos) {
    const std::uint8_t channel = on_ste_link ? 1 : 2;
    const bool counter = pos == Position::Counter;
    const bool to_ads = dir == Direction::ToTarget;
    const std::string who = on_ste_link ? (to_ads ? "STE→ADS" : "ADS→STE") : (to_ads ? "DTD→ADS" : "ADS→DTD");
    Expect e;
    e.ads_log = counter ? kCounterAds : kDecryptAds;
    if (on_ste_link || to_ads) {
      e.ste_exit = 2;
      e.ste_display = counter ? kCounterSte : kDecryptSte;
    } else {
      e.dtd_log = std::string("session \\d+ ended: [^\\n]*") + (counter ? "replayed, reordered or dropped" : "failed authentication");
    }
    describe(std::string("bit flip in a sealed channel-") + std::to_string(channel) + " Echo " + who + ": " + name(pos),
             on_ste_link ? kSteLink : kAdsLink,
             std::string(counter ? "counter out of order (Error 10)" : "decryption/authentication failed (Error 9)") +
                 ", session aborted");
    run_attack(on_ste_link,
               flip_first(dir, channel, type::kEcho, [pos](const RelayedFrame& f) { return byte_of(pos, f); },
                          "flipped bit 0 of the " + std::string(name(pos)) + " of the first " + who + " Echo"),
               e);
  }
};

// ---- handshake frames ---------------------------------------------------------------------------

TEST_F(Attacks, BitflipH1HeaderMagic) {
  describe("bit flip in the H1 header (magic)", kSteLink, "DTD closes the STE link: bad frame; no session");
  handshake_flip(Direction::ToTarget, type::kH1, fixed_at(0), "flipped bit 0 of H1 byte 0 (magic)",
                 dtd_drops_ste("bad frame[^\\n]*"));
}

TEST_F(Attacks, BitflipH1Serial) {
  describe("bit flip in H1: last digit of the serial", kSteLink,
           "not accepted (Error 19, the one answer before authentication); the ADS's log: terminal not enrolled for "
           "that card");
  handshake_flip(Direction::ToTarget, type::kH1, field_at(h1_serial_last), "flipped bit 0 of the last serial digit in H1",
                 refused_at_h1("terminal not enrolled"));
}

TEST_F(Attacks, BitflipH1Rn4) {
  describe("bit flip in H1: RN4", kSteLink,
           "terminal authentication failed (Error 18) at the ADS: the signed transcript differs");
  handshake_flip(Direction::ToTarget, type::kH1, field_at(h1_rn4), "flipped bit 0 of RN4 in H1",
                 refused_for("terminal authentication failed"));
}

TEST_F(Attacks, BitflipH2Rn1) {
  describe("bit flip in H2: RN1", kSteLink,
           "terminal authentication failed (Error 18): the signed transcript differs; nothing counted against the card");
  handshake_flip(Direction::ToClient, type::kH2, fixed_at(kH2Rn1), "flipped bit 0 of RN1 in H2",
                 refused_for("terminal authentication failed"));
}

TEST_F(Attacks, BitflipH2Rn3) {
  describe("bit flip in H2: RN3", kSteLink,
           "terminal authentication failed (Error 18) at the ADS: the signed transcript differs");
  handshake_flip(Direction::ToClient, type::kH2, fixed_at(kH2Rn3), "flipped bit 0 of RN3 in H2",
                 refused_for("terminal authentication failed"));
}

TEST_F(Attacks, BitflipH2SessionField) {
  describe("bit flip in H2: session id in the payload (differs from the header)", kSteLink,
           "STE refuses a malformed H2; the ADS ends the session");
  handshake_flip(Direction::ToClient, type::kH2, fixed_at(kH2Session + 3), "flipped bit 0 of the session id in the H2 payload",
                 ste_refuses("session \\d+ refused: [^\\n]*(STE link lost|timeout)[^\\n]*",
                             "Refused: malformed frame or message"));
}

TEST_F(Attacks, BitflipH3Cryptogram) {
  describe("bit flip in H3: retailer cryptogram", kSteLink,
           "terminal authentication failed (Error 18): the cryptogram is in the signed transcript; nothing counted");
  handshake_flip(Direction::ToTarget, type::kH3, fixed_at(kCryptogram), "flipped bit 0 of the retailer cryptogram in H3",
                 refused_for("terminal authentication failed"));
}

TEST_F(Attacks, BitflipH3Signature) {
  describe("bit flip in H3: the terminal's signature", kSteLink,
           "terminal authentication failed (Error 18), checked before the retailer cryptogram: nothing counted");
  handshake_flip(Direction::ToTarget, type::kH3, fixed_at(kH3Signature + 5), "flipped bit 0 of byte 5 of the H3 signature",
                 refused_for("terminal authentication failed"));
}

TEST_F(Attacks, BitflipH3Confirmation) {
  describe("bit flip in H3: confirm_S by the STE", kSteLink, "key confirmation failed (Error 8) at the ADS");
  handshake_flip(Direction::ToTarget, type::kH3, fixed_at(kConfirmS), "flipped bit 0 of confirm_S in H3",
                 refused_for("key confirmation failed"));
}

TEST_F(Attacks, BitflipH4Cryptogram) {
  describe("bit flip in H4: issuer cryptogram", kSteLink,
           "STE: issuer authentication failed (Error 7); ADS ends the session");
  handshake_flip(Direction::ToClient, type::kH4, fixed_at(kCryptogram), "flipped bit 0 of the issuer cryptogram in H4",
                 aborted_for("issuer authentication failed"));
}

TEST_F(Attacks, BitflipH4Confirmation) {
  describe("bit flip in H4: confirm_D by the ADS", kSteLink,
           "STE: key confirmation failed (Error 8); ADS ends the session");
  handshake_flip(Direction::ToClient, type::kH4, fixed_at(kConfirmD), "flipped bit 0 of confirm_D in H4",
                 aborted_for("key confirmation failed"));
}

TEST_F(Attacks, BitflipH4HeaderType) {
  describe("bit flip in the H4 header (type 0x14 → 0x15)", kSteLink,
           "STE: bad frame (Error 1); ADS ends the session");
  handshake_flip(Direction::ToClient, type::kH4, fixed_at(kTypeByte), "flipped bit 0 of the H4 type byte",
                 ste_refuses("session \\d+ ended: aborted: [^\\n]*unknown message type 0x15[^\\n]*",
                             "Refused: malformed frame or message"));
}

// ---- sealed frames: four positions, both directions, both channels --------------------------------

#define SEALED_FLIP(test, ste_link, dir, pos) \
  TEST_F(Attacks, test) { sealed_flip(ste_link, Direction::dir, Position::pos); }
SEALED_FLIP(BitflipSealedCh1SteToAdsHeader, true, ToTarget, Header)
SEALED_FLIP(BitflipSealedCh1SteToAdsCounter, true, ToTarget, Counter)
SEALED_FLIP(BitflipSealedCh1SteToAdsCiphertext, true, ToTarget, Ciphertext)
SEALED_FLIP(BitflipSealedCh1SteToAdsTag, true, ToTarget, Tag)
SEALED_FLIP(BitflipSealedCh1AdsToSteHeader, true, ToClient, Header)
SEALED_FLIP(BitflipSealedCh1AdsToSteCounter, true, ToClient, Counter)
SEALED_FLIP(BitflipSealedCh1AdsToSteCiphertext, true, ToClient, Ciphertext)
SEALED_FLIP(BitflipSealedCh1AdsToSteTag, true, ToClient, Tag)
SEALED_FLIP(BitflipSealedCh2DtdToAdsHeader, false, ToTarget, Header)
SEALED_FLIP(BitflipSealedCh2DtdToAdsCounter, false, ToTarget, Counter)
SEALED_FLIP(BitflipSealedCh2DtdToAdsCiphertext, false, ToTarget, Ciphertext)
SEALED_FLIP(BitflipSealedCh2DtdToAdsTag, false, ToTarget, Tag)
SEALED_FLIP(BitflipSealedCh2AdsToDtdHeader, false, ToClient, Header)
SEALED_FLIP(BitflipSealedCh2AdsToDtdCounter, false, ToClient, Counter)
SEALED_FLIP(BitflipSealedCh2AdsToDtdCiphertext, false, ToClient, Ciphertext)
SEALED_FLIP(BitflipSealedCh2AdsToDtdTag, false, ToClient, Tag)
#undef SEALED_FLIP

// ---- replay, reorder, drop ----------------------------------------------------------------------

TEST_F(Attacks, ReplaySealedFrameChannel1) {
  describe("replay one sealed frame: the STE's channel-1 Echo sent twice", kSteLink,
           "counter out of order (Error 10) at the ADS, session aborted");
  Expect e;
  e.ads_log = "session \\d+ ended: aborted: [^\\n]*counter 0, expected 1[^\\n]*";
  run_attack(true,
             inject_after_first(Direction::ToTarget, 1, type::kEcho, [](const RelayedFrame& f) { return f.bytes; },
                                "sent the STE's sealed Echo (counter 0) a second time"),
             e);
}

TEST_F(Attacks, ReplaySealedFrameChannel2) {
  describe("replay one sealed frame: the DTD's channel-2 Echo sent twice", kAdsLink,
           "counter out of order (Error 10) at the ADS; the STE is told and refuses");
  run_attack(false,
             inject_after_first(Direction::ToTarget, 2, type::kEcho, [](const RelayedFrame& f) { return f.bytes; },
                                "sent the DTD's sealed Echo (counter 0) a second time"),
             ste_refuses("session \\d+ ended: aborted: [^\\n]*counter 0, expected 1[^\\n]*", kCounterSte));
}

TEST_F(Attacks, ReorderTwoSealedFrames) {
  describe("reorder two sealed frames: the STE's Echo (counter 0) held and sent after its Terminate (counter 1)",
           kSteLink, "counter out of order (Error 10) at the ADS; the STE gives up waiting (timeout)");
  auto held = std::make_shared<std::optional<Bytes>>();
  auto mutex = std::make_shared<std::mutex>();
  run_attack(true,
             [this, held, mutex](const RelayedFrame& f, RelayOutput& out) {
               std::lock_guard lock(*mutex);
               if (f.direction == Direction::ToTarget && f.is(1, type::kEcho) && !*held) {
                 *held = f.bytes;  // the STE waits for an answer that cannot come
                 return;
               }
               out.forward(f.bytes);
               if (f.direction == Direction::ToTarget && f.is(1, type::kTerminate) && *held) {
                 out.send(Direction::ToTarget, **held);
                 fired("held the Echo (counter 0), sent it after the Terminate (counter 1)");
               }
             },
             ste_refuses("session \\d+ ended: aborted: [^\\n]*counter 1, expected 0[^\\n]*", "Refused: timeout"), 3000);
}

TEST_F(Attacks, DropSealedFrame) {
  describe("drop a sealed frame: the STE's Echo (counter 0); its Terminate (counter 1) arrives with a gap", kSteLink,
           "counter out of order (Error 10) at the ADS; the STE gives up waiting (timeout)");
  run_attack(true, drop_first(Direction::ToTarget, 1, type::kEcho, "dropped the STE's sealed Echo (counter 0)"),
             ste_refuses("session \\d+ ended: aborted: [^\\n]*counter 1, expected 0[^\\n]*", "Refused: timeout"), 3000);
}

// ---- truncation and oversized lengths -----------------------------------------------------------

TEST_F(Attacks, TruncateH3TowardsAds) {
  describe("truncate a frame: H3 cut mid-payload, then the TCP stream closed", kAdsLink,
           "ADS ends the session (peer closed); the STE is told the ADS is unreachable");
  run_attack(false, cut_first(Direction::ToTarget, 1, type::kH3, kHeader + 20),
             ste_refuses("session \\d+ refused: peer closed", "Refused: ADS unreachable"));
}

TEST_F(Attacks, TruncateH1TowardsDtd) {
  describe("truncate a frame: H1 cut mid-payload, then the TCP stream closed", kSteLink,
           "DTD drops the STE link; no session at the ADS");
  run_attack(true, cut_first(Direction::ToTarget, 1, type::kH1, kHeader + 5), dtd_drops_ste("STE link closed[^\\n]*"));
}

TEST_F(Attacks, OversizedLengthTowardsAds) {
  describe("oversized length (kMaxPayload+1) in the H3 header", kAdsLink,
           "ADS closes the link: bad frame; session refused");
  run_attack(false, oversize_first(Direction::ToTarget, type::kH3, "H3 header length set to 65537"),
             ste_refuses("session \\d+ refused: bad frame", "Refused: ADS unreachable"));
}

TEST_F(Attacks, OversizedLengthTowardsDtd) {
  describe("oversized length (kMaxPayload+1) in the H1 header", kSteLink,
           "DTD closes the STE link: bad frame; no session");
  run_attack(true, oversize_first(Direction::ToTarget, type::kH1, "H1 header length set to 65537"),
             dtd_drops_ste("bad frame[^\\n]*65537[^\\n]*"));
}

TEST_F(Attacks, OversizedLengthTowardsSte) {
  describe("oversized length (kMaxPayload+1) in the H2 header", kSteLink,
           "STE drops the link: bad frame; the DTD ends the session at the ADS");
  run_attack(true, oversize_first(Direction::ToClient, type::kH2, "H2 header length set to 65537"),
             ste_refuses("session \\d+ refused: [^\\n]*STE link lost[^\\n]*", "Refused: DTD link lost"));
}

// ---- frames moved to the other channel ----------------------------------------------------------

TEST_F(Attacks, InjectChannel2FrameIntoChannel1) {
  describe("inject a channel-2 frame into channel 1: a copy of the DTD's sealed Echo with channel byte 1", kAdsLink,
           "decryption/authentication failed (Error 9) on channel 1, session aborted");
  run_attack(false,
             inject_after_first(Direction::ToTarget, 2, type::kEcho,
                                [](const RelayedFrame& f) { return with_channel(f.bytes, 1); },
                                "injected a copy of the DTD's channel-2 Echo as a channel-1 frame"),
             ste_refuses(kDecryptAds, kDecryptSte));
}

TEST_F(Attacks, Channel1FrameRewrittenToChannel2) {
  describe("a channel-1 frame moved to channel 2: the STE's sealed Echo with channel byte rewritten to 2", kAdsLink,
           "rejected on channel 2 (its counter 0 was used: Error 10), session aborted");
  run_attack(false, edit_first(Direction::ToTarget, 1, type::kEcho, [](const RelayedFrame& f) { return with_channel(f.bytes, 2); },
                               "rewrote the channel byte of the STE's Echo from 1 to 2"),
             ste_refuses(kCounterAds, kCounterSte));
}

// ---- reflection and nonce steering --------------------------------------------------------------

TEST_F(Attacks, ReflectStesChallenge) {
  describe("reflection: H2 to the STE carries RN1 = the STE's own RN2; its H3 cryptogram is sent back as H4",
           kSteLink, "STE: issuer authentication failed (AES_K_RA(RN2) is not AES_K_IA(RN2)); the ADS never sees H3");
  struct State {
    std::mutex m;
    Bytes rn2;
  };
  auto st = std::make_shared<State>();
  run_attack(true,
             [this, st](const RelayedFrame& f, RelayOutput& out) {
               std::lock_guard lock(st->m);
               if (f.direction == Direction::ToTarget && f.is(1, type::kH1)) {
                 st->rn2 = block_at(f.bytes, h1_rn2(f.bytes));
               } else if (f.direction == Direction::ToClient && f.is(1, type::kH2) && !st->rn2.empty()) {
                 out.forward(with_block(f.bytes, kH2Rn1, st->rn2));
                 fired("H2 to the STE: RN1 replaced by the STE's RN2");
                 return;
               } else if (f.direction == Direction::ToTarget && f.is(1, type::kH3)) {
                 // The H3 is not forwarded; its cryptogram and confirmations come back as an H4.
                 out.send(Direction::ToClient, truncated_payload(with_type(f.bytes, type::kH4), kH4Payload));
                 fired("the STE's H3 (AES_K_RA(RN2), confirmations) reflected to it as H4");
                 return;
               }
               out.forward(f.bytes);
             },
             refused_for("issuer authentication failed"));
  EXPECT_EQ(ads_log().find(" established"), std::string::npos) << "the ADS established a session";
}

TEST_F(Attacks, XorSteeringThenReplayOfARecordedSession) {
  describe("steer RN3/RN4 so that RN3⊕RN4 equals a recorded session's, then replay that session's sealed frames",
           kSteLink,
           "terminal authentication failed (Error 18) at the ADS: the signed transcript shows the steering; nothing "
           "replayed is accepted");
  struct State {
    std::mutex m;
    Bytes rn4_a, rn3_a, rn4_b, rn3_sent;
    std::vector<Bytes> sealed_a;
  };
  auto st = std::make_shared<State>();
  Attack attack = [this, st](const RelayedFrame& f, RelayOutput& out) {
    std::lock_guard lock(st->m);
    const bool up = f.direction == Direction::ToTarget;
    if (f.connection == 0) {  // the session being recorded passes untouched
      if (up && f.is(1, type::kH1)) st->rn4_a = block_at(f.bytes, h1_rn4(f.bytes));
      if (!up && f.is(1, type::kH2)) st->rn3_a = block_at(f.bytes, kH2Rn3);
      if (up && f.channel() == 1 && f.sealed()) st->sealed_a.push_back(f.bytes);
      out.forward(f.bytes);
      return;
    }
    if (up && f.is(1, type::kH1)) {
      // Towards the ADS: RN4 := recorded RN4. The ADS draws RN3 only after H1, so its side can match
      // the recorded XOR only if it drew the recorded RN3 again.
      st->rn4_b = block_at(f.bytes, h1_rn4(f.bytes));
      out.forward(with_block(f.bytes, h1_rn4(f.bytes), st->rn4_a));
      fired("H1 to the ADS: RN4 replaced by the recorded RN4");
      return;
    }
    if (!up && f.is(1, type::kH2)) {
      // Towards the STE: RN3' = RN3_a ⊕ RN4_a ⊕ RN4_b, so the STE derives the recorded SK_S.
      st->rn3_sent = xor_blocks(xor_blocks(st->rn3_a, st->rn4_a), st->rn4_b);
      out.forward(with_block(f.bytes, kH2Rn3, st->rn3_sent));
      fired("H2 to the STE: RN3 steered so that RN3'⊕RN4 = the recorded RN3⊕RN4");
      return;
    }
    if (up && f.is(1, type::kH3)) {
      out.forward(f.bytes);
      for (const auto& s : st->sealed_a) out.send(Direction::ToTarget, with_session(s, f.session()));
      fired("after H3: replayed the recorded session's " + std::to_string(st->sealed_a.size()) +
            " sealed STE→ADS frames under the new session id");
      return;
    }
    out.forward(f.bytes);
  };
  ShopOptions shop;
  shop.ste_link = std::move(attack);
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(start_ste(port, ste_options()).wait_exit(60s), 0) << "the session to record did not complete\n"
                                                               << display_text();
  ASSERT_TRUE(wait_no_open_session(10s));
  const std::size_t recorded_rows = sessions().size();
  observe("recorded session completed (legitimately)");
  start_ste(port, ste_options()).wait_exit(60s);
  {
    std::lock_guard lock(st->m);
    ASSERT_FALSE(st->rn3_sent.empty()) << "the attack did not reach H2";
    EXPECT_EQ(xor_blocks(st->rn3_sent, st->rn4_b), xor_blocks(st->rn3_a, st->rn4_a))
        << "the STE side was not steered onto the recorded RN3⊕RN4";
    EXPECT_GE(st->sealed_a.size(), 2u) << "expected the recorded Echo and Terminate";
  }
  observe_fired();
  check_outcome(refused_for("terminal authentication failed"), recorded_rows);
  auto unknown = log_match(ads_log_, "frame \\(type 0x29\\) for unknown session \\d+", 5s);
  EXPECT_TRUE(unknown) << "the replayed sealed frames should be refused as for an unknown session";
  observe("replayed frames: `" + unknown.value_or("(no log)") + "`");
  const std::string log = ads_log();
  std::size_t established = 0;
  for (auto at = log.find(" established:"); at != std::string::npos; at = log.find(" established:", at + 1)) ++established;
  EXPECT_EQ(established, 1u) << "only the recorded session may be established";
}

// ---- a whole recorded session replayed to the ADS ------------------------------------------------

class ReplayedSession : public Attacks {
 protected:
  // Records a complete session on the DTD↔ADS link, then replays its DTD→ADS frames over a new TCP
  // connection straight to the ADS: LinkHello, H1, then (after reading the new H2) the rest, with
  // the session ids left as recorded or rewritten to the new one. Returns the new session id.
  std::uint32_t replay(bool rewrite_session) {
    ShopOptions shop;
    shop.ads_link = pass_through;
    const int port = open_shop(std::move(shop));
    if (HasFailure()) return 0;
    EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 0) << display_text();
    EXPECT_TRUE(wait_no_open_session(10s));
    first_row_ = sessions().size();
    observe("recorded session completed (legitimately)");
    const auto frames = ads_relay_->recorded(0, Direction::ToTarget);

    RawPeer peer(ads_port_);
    EXPECT_TRUE(peer.connected());
    std::uint32_t session = 0;
    std::size_t sent = 0;
    std::size_t sealed_answers = 0;
    auto read_until = [&](std::uint8_t channel, std::uint8_t t) -> std::optional<Bytes> {
      for (;;) {
        auto frame = peer.read_frame(10s);
        if (!frame) return std::nullopt;
        if ((*frame)[5] & 1) ++sealed_answers;
        if ((*frame)[3] == channel && (*frame)[4] == t) return frame;
      }
    };
    for (const auto& f : frames) {
      if (f.is(0, type::kLinkHello)) {
        peer.send(f.bytes);
        EXPECT_TRUE(read_until(0, 0x02)) << "no LinkHelloAck";
      } else if (f.is(1, type::kH1)) {
        peer.send(f.bytes);
        auto h2 = read_until(1, type::kH2);
        EXPECT_TRUE(h2) << "the ADS did not answer the replayed H1";
        if (h2) session = get_u32(*h2, 8);
      } else if (f.channel() != 0) {
        peer.send(rewrite_session ? with_session(f.bytes, session) : f.bytes);
        ++sent;
      }
    }
    // Stay connected until the ADS ends the new session (an Error for it), or at most 10 s: a
    // closed connection would end it for another reason ("peer closed").
    while (auto answer = read_until(1, type::kError)) {
      if (get_u32(*answer, 8) == session) break;
    }
    fired("replayed " + std::to_string(sent) + " recorded frames after H1 over a raw TCP connection" +
          (rewrite_session ? ", session id rewritten to the new one" : ", verbatim"));
    EXPECT_EQ(sealed_answers, 0u) << "the ADS answered a replayed frame with a sealed frame";
    observe("sealed answers to the replay: " + std::to_string(sealed_answers));
    return session;
  }
  // Replays, then checks that the ADS refused the new session for `reason` and nothing changed.
  void replay_refused(bool rewrite_session, const std::string& reason, std::int64_t failures = 0) {
    const std::uint32_t session = replay(rewrite_session);
    ASSERT_NE(session, 0u);
    observe_fired();
    Expect e;
    e.ads_log = "session " + std::to_string(session) + " refused: " + reason;
    e.failures = failures;
    check_outcome(e, first_row_);
  }
  std::size_t first_row_ = 0;
};

TEST_F(ReplayedSession, Verbatim) {
  describe("replay a whole recorded session (DTD→ADS frames) on a new connection, verbatim", "raw TCP → ADS",
           "the new session never gets past H2: frames of the old session id are unknown; handshake timeout");
  ASSERT_NO_FATAL_FAILURE(replay_refused(false, "timeout"));
  EXPECT_TRUE(log_match(ads_log_, "frame \\(type 0x13\\) for unknown session", 1s)) << "the old H3 was not refused";
}

TEST_F(ReplayedSession, UnderTheNewSessionId) {
  describe("replay a whole recorded session on a new connection, session ids rewritten to the new one",
           "raw TCP → ADS",
           "terminal authentication failed (Error 18): the recorded signature covers the old transcript; nothing counted "
           "against the card, nothing sealed accepted");
  replay_refused(true, "terminal authentication failed");
}

// ---- slow loris ---------------------------------------------------------------------------------

TEST_F(Attacks, SlowLorisIsCutOffWhileAShopIsServed) {
  describe("slow-loris: a raw TCP client sends its LinkHello one byte a second", "raw TCP → ADS",
           "the ADS closes it after its 10 s hello timeout; meanwhile a real shop completes a session");
  const int port = open_shop({});
  ASSERT_FALSE(HasFailure());
  const std::string id = "slow-loris";
  const Bytes hello = link_hello_frame(id);

  RawPeer loris(ads_port_);
  ASSERT_TRUE(loris.connected());
  const auto started = std::chrono::steady_clock::now();
  start_ste(port, ste_options());
  std::size_t sent = 0;
  while (sent < hello.size() && !loris.peer_closed()) {
    if (!loris.send(ByteView(hello).subspan(sent, 1))) break;
    ++sent;
    loris.wait_closed(1s);
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  EXPECT_TRUE(loris.peer_closed()) << "the ADS kept the slow client";
  EXPECT_LT(sent, hello.size()) << "the slow client got its whole LinkHello through";
  EXPECT_GE(elapsed, 9s);
  EXPECT_LE(elapsed, 16s);
  fired("sent " + std::to_string(sent) + " of " + std::to_string(hello.size()) + " LinkHello bytes, one a second");
  observe("relay: " + fired_notes().front());
  observe("slow client closed by the ADS after " + std::to_string(elapsed.count() / 1000) + " s");
  Expect e;
  e.ads_log = "sent no LinkHello[^\\n]*";
  e.ste_exit = 0;
  e.ste_display = "Session ended";
  const std::size_t all_rows = sessions().size();
  check_outcome(e, all_rows);  // the shop's session is not attacked: it must complete
  const auto rows = sessions();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome.value_or("(open)"), "completed") << "the well-behaved shop was not served";
  observe("the shop's session: " + rows[0].outcome.value_or("open"));
}

}  // namespace
