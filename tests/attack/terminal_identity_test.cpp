// Attacks on the terminal's identity (docs/security.md, proto/PROTOCOL.md §6.6): the shop's staff
// hold the retailer card and its PIN, so the card alone must not open a session. Each case runs the
// real ste-firmware with the real retailer card (card-sim) and the right PIN:
// Refusals at H1 show the STE the one answer before authentication (Error 19, not accepted); the
// ADS's log names the reason, which the cases check.
//   - Rogue: a second machine with a device key of its own that the issuer never enrolled; also the
//     same machine with a relay that rewrites H1 to name the enrolled terminal's public key (public
//     by nature). Refused at H1, or at H3 before the retailer cryptogram is looked at: the retailer's
//     failure count stays 0, nothing is written.
//   - Revoked: the enrolled terminal after `adsctl terminal revoke`: refused at H1.
//   - OtherRetailer: a terminal enrolled for retailer A with retailer B's card: refused at H1.
#include <regex>

#include "attack_fixture.hpp"
#include "frame_edits.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace std::chrono_literals;

namespace {

constexpr const char* kOtherSerial = "8944100000000000025";

class TerminalIdentity : public AttackFixture {
 protected:
  // A second device key, made as a rogue would make one; the STE runs from now on use it.
  std::string use_rogue_device_key() {
    const std::string path = file("rogue-device.key");
    auto made = e2e::run_program({bin_.ste_firmware, "--init-device-key", "--device-key", path}, file("rogue-key.err"));
    EXPECT_EQ(made.exit_code, 0) << made.err;
    device_key_ = path;
    return made.out.substr(0, 64);
  }
  // The STE refused with `display`; the ADS log says `ads_log`; nothing counted, nothing written.
  void expect_refused(const std::string& ads_log, const std::string& display) {
    Expect e;
    e.ads_log = ads_log;
    e.ste_exit = 2;
    e.ste_display = display;
    e.failures = 0;
    check_outcome(e);
  }
};

}  // namespace

TEST_F(TerminalIdentity, RogueTerminalWithTheRealCardAndPinIsRefused) {
  describe("a machine of the shop's own with the real retailer card and PIN, but a device key the issuer never "
           "enrolled",
           "shop PC + retailer card", "refused at H1 (the STE sees Error 19, not accepted; the ADS logs terminal not enrolled); failure count unchanged (0)");
  const int port = open_shop({});
  ASSERT_FALSE(HasFailure());
  const std::string rogue = use_rogue_device_key();
  ASSERT_NE(rogue, device_public_key_);
  EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 2) << display_text();
  expect_refused("session \\d+ refused: terminal not enrolled: device key " + rogue.substr(0, 16) +
                     "\\.\\.\\. is not enrolled at this issuer",
                 "Refused: not accepted by the issuer");
  observe("STE display: `Refused: not accepted by the issuer` (Error 19); retailers.failed_auth_count = " +
          std::to_string(failed_auth_count(kSerial)));
}

TEST_F(TerminalIdentity, RogueTerminalNamingTheEnrolledKeyFailsAtH3AndCostsNothing) {
  describe("the rogue machine with the real card and PIN names the enrolled terminal's public key in H1 (the "
           "relay to the ADS rewrites it)",
           "shop PC + retailer card",
           "terminal authentication failed (Error 18) at H3, checked before the retailer cryptogram; failure count "
           "unchanged (0)");
  std::string enrolled_hex;
  ShopOptions shop;
  shop.ads_link = [this, &enrolled_hex](const RelayedFrame& f, RelayOutput& out) {
    if (f.direction == Direction::ToTarget && f.is(1, type::kH1)) {
      const Bytes enrolled = hex(enrolled_hex);
      Bytes edited = f.bytes;
      std::copy(enrolled.begin(), enrolled.end(), edited.end() - 32);  // the device key is H1's last field
      out.forward(edited);
      fired("H1 to the ADS: device key replaced by the enrolled terminal's");
      return;
    }
    out.forward(f.bytes);
  };
  enrolled_hex = device_public_key_;
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  use_rogue_device_key();
  EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 2) << display_text();
  EXPECT_GE(fired_count(), 1u);
  for (const auto& n : fired_notes()) observe("relay: " + n);
  expect_refused("session \\d+ refused: terminal authentication failed", "Refused: terminal authentication failed");
  EXPECT_FALSE(log_match(ads_log_, "retailer authentication failed", 1s)) << "the retailer cryptogram was looked at";
}

TEST_F(TerminalIdentity, RevokedTerminalIsRefused) {
  describe("the enrolled terminal after `adsctl terminal revoke` (lost or stolen), with the real card and PIN",
           "shop PC + retailer card", "refused at H1 (Error 19; the ADS logs the terminal as revoked); failure count unchanged (0)");
  ShopOptions shop;
  shop.records = [this] {
    auto r = adsctl({"terminal", "revoke", "--public-key", device_public_key_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 2) << display_text();
  expect_refused("session \\d+ refused: terminal not enrolled: device key [0-9a-f]{16}\\.\\.\\. was revoked by the issuer",
                 "Refused: not accepted by the issuer");
  const auto listed = adsctl({"terminal", "list"});
  EXPECT_NE(listed.out.find("revoked"), std::string::npos) << listed.out;
  observe("`adsctl terminal list` shows the enrolment revoked");
}

TEST_F(TerminalIdentity, TerminalOfAnotherRetailerIsRefused) {
  describe("a terminal enrolled for retailer A used with retailer B's card and PIN", "shop PC + retailer card",
           "refused at H1 (Error 19; the ADS logs: enrolled for another retailer); failure count unchanged (0)");
  ShopOptions shop;
  shop.enrol_terminal = false;  // the card in the reader (B) has no terminal of its own here
  shop.records = [this] { enrol(kOtherSerial); };  // retailer A, and this terminal for A
  const int port = open_shop(std::move(shop));
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(start_ste(port, ste_options()).wait_exit(60s), 2) << display_text();
  expect_refused("session \\d+ refused: terminal not enrolled: device key [0-9a-f]{16}\\.\\.\\. is enrolled for another "
                 "retailer, not for card " + std::string(kSerial),
                 "Refused: not accepted by the issuer");
  EXPECT_EQ(failed_auth_count(kOtherSerial), 0);
}
