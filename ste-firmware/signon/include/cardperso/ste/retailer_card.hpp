#pragma once
// The retailer card as the secure terminal uses it (docs/cards.md §2): serial in MF/EF 2FE2, CHV1 =
// the retailer's PIN, DF 7F50 / EF 6F02 = the key version. The keys (EF 6F01) are never read: after
// CHV1 the card computes with them (CardRetailerSecrets).
//
// Pure logic over a TransmitFn, so the same code runs against a PC/SC card and, in the unit tests,
// against an in-memory SimCard. The PIN is checked by the card (VERIFY CHV1) and never leaves the
// terminal; neither the PIN nor a key is ever logged or shown, and every length read from the card
// is bounded before use.
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/retailer_secrets.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/t0_exchange.hpp"

namespace cardperso::ste {

class Display;
class Keypad;
class StatusReporter;

// GSM CHV: 4 to 8 digits (GSM 11.11 §9.3).
inline constexpr std::size_t kMinPinDigits = 4;
inline constexpr std::size_t kMaxPinDigits = 8;
// CHV1 as the SELECT MF response reports it (GSM 11.11 §9.2.1, bytes 13 and 18).
struct Chv1Status {
  bool initialised = false;  // byte 18 b8
  bool disabled = false;     // byte 13 b8
  int tries_left = 0;        // byte 18 b1-b4
};

struct PinAccepted {};
struct WrongPin {
  int tries_left = 0;
};
struct PinBlocked {};
using PinCheck = std::variant<PinAccepted, WrongPin, PinBlocked>;

// What sign-on yields: everything the handshake needs. The secrets are the card's computations,
// usable while the card stays in the reader with CHV1 verified.
struct RetailerCredentials {
  std::string serial;
  std::uint8_t key_version = 0;
  std::unique_ptr<proto::RetailerSecrets> secrets;
};

// MF/EF 2FE2: digits stored as nibble-swapped BCD padded with F (like an ICCID), or printable ASCII.
Result<std::string> read_serial(const card::TransmitFn& transmit);
// Selects the MF and decodes CHV1's status. Fails when the card is not a GSM SIM.
Result<Chv1Status> read_chv1_status(const card::TransmitFn& transmit);
Result<int> read_chv1_tries_left(const card::TransmitFn& transmit);
// Whether DF_RETAILER (7F50) exists; selecting it needs no PIN.
Result<bool> has_retailer_df(const card::TransmitFn& transmit);
// VERIFY CHV1 with the typed digits (padded with FF to 8 bytes inside a SecretBytes).
// 9000 -> accepted; 9804 -> wrong, with the tries left read back from the card; 9840 -> blocked.
Result<PinCheck> verify_pin(const card::TransmitFn& transmit, const SecretBytes& pin_digits);
// DF 7F50 / EF 6F02: the one-byte key version. Leaves DF 7F50 selected for the card's computations.
Result<std::uint8_t> read_key_version(const card::TransmitFn& transmit);

// The sign-on dialogue (contracts: "Enter retailer PIN", "Wrong PIN: <n> tries left",
// "Retailer card blocked", "Signed on: retailer <serial>", else "Refused: <reason>"). Asks for the PIN
// again after a wrong one while the card has tries left and the keypad has entries. On failure the
// display already shows why; the error says it for the log.
Result<RetailerCredentials> sign_on(const card::TransmitFn& transmit, Keypad& keypad, Display& display);
// The same, reporting each prompt shown to `reporter` (enter_retailer_pin, wrong_retailer_pin with the
// tries left, retailer_card_blocked, signed_on, refused).
Result<RetailerCredentials> sign_on(const card::TransmitFn& transmit, Keypad& keypad, Display& display,
                                    StatusReporter& reporter);

}  // namespace cardperso::ste
