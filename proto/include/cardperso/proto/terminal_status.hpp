#pragma once
// TerminalStatus (0x06, channel 0, clear, STE->DTD on the local link only; proto/PROTOCOL.md §5):
// what the terminal's display shows, as a code, so the shop PC can mirror it on its console.
//
//   0 prompt 1 | 1 step 2 | 3 steps 2        (5 bytes, big-endian)
//
// Only a code from a fixed list and two numbers travel: the console has its own text for each code,
// so nothing the display shows in words (the customer's name, ID, ICCID, MSISDN, reasons) is ever
// on the local link. The message is not authenticated: a forged one can only mislead the PC's hint.
// What is authoritative comes sealed from the ADS (decisions and outcomes on channel 2) and is what
// the terminal's own display shows. step/steps: `writing` k of n (1 <= k <= n <= 1024, the script's
// steps); `wrong_retailer_pin` the PIN tries left (0..15, steps 0); every other prompt 0 and 0.
#include <cstdint>
#include <optional>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

// The values are the wire codes; 0 is none of them. to_string gives the names the console's JSON uses.
enum class TerminalPrompt : std::uint8_t {
  Ready = 1,                   // signed on, waiting for the shop PC's next customer
  InsertRetailerCard = 2,
  EnterRetailerPin = 3,
  WrongRetailerPin = 4,        // step = tries left
  RetailerCardBlocked = 5,
  SignedOn = 6,
  RemoveRetailerCard = 7,
  InsertCustomerCard = 8,
  ConfirmOnTerminal = 9,       // the check is shown, waiting for OK / Cancel on the keypad
  Cancelled = 10,
  EnterCustomerPin = 11,
  EnterCustomerPinAgain = 12,
  PinsDiffer = 13,
  EnterCustomerPuk = 14,
  Writing = 15,                // step k of steps n
  CardDone = 16,               // personalised or updated
  CardFailed = 17,
  CardRefused = 18,
  RemoveCustomerCard = 19,
  SessionEnded = 20,
  Refused = 21,                // the session (or the sign-on) was refused or broke off
};
inline constexpr std::uint8_t kMaxTerminalPrompt = 21;

// "ready", "insert_retailer_card", ..., "refused".
std::string_view to_string(TerminalPrompt prompt);
std::optional<TerminalPrompt> to_terminal_prompt(std::uint8_t raw);
// The inverse of to_string (exact, lower case).
std::optional<TerminalPrompt> terminal_prompt_from_string(std::string_view name);

inline constexpr std::uint16_t kMaxStatusSteps = 1024;    // perso::kMaxScriptSteps
inline constexpr std::uint16_t kMaxRetailerPinTries = 15;  // CHV1's counter is 4 bits (GSM 11.11 §9.2.1)

struct TerminalStatus {
  static constexpr MessageType kType = MessageType::TerminalStatus;
  static constexpr std::size_t kSize = 5;
  TerminalPrompt prompt = TerminalPrompt::Ready;
  std::uint16_t step = 0;
  std::uint16_t steps = 0;

  static TerminalStatus of(TerminalPrompt prompt) { return {prompt, 0, 0}; }
  static TerminalStatus writing(std::uint16_t step, std::uint16_t steps) { return {TerminalPrompt::Writing, step, steps}; }
  static TerminalStatus wrong_retailer_pin(std::uint16_t tries_left) {
    return {TerminalPrompt::WrongRetailerPin, tries_left, 0};
  }

  // Whether step and steps fit the prompt (see the top of this file), and why not.
  Result<void> check() const;
  // Throws std::invalid_argument when check() fails: a programmer error.
  Bytes encode() const;
  // Strict: exactly 5 bytes, a known prompt, step and steps within its bounds.
  static Result<TerminalStatus> decode(ByteView payload);

  bool operator==(const TerminalStatus&) const = default;
};

}  // namespace cardperso::proto
