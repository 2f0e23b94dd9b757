#pragma once
// The personalisation script (DESIGN "Cards"): data, not code. The ADS composes it from a card
// profile; it travels in one message (P2) under SK_S; the STE runs it APDU by APDU and returns a
// ScriptResult (P3). Both binary encodings are bounded and decoded strictly, with a reason.
// Layouts: docs/personalisation.md §2.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::perso {

inline constexpr std::size_t kMaxScriptSteps = 1024;
inline constexpr std::size_t kMaxScriptBytes = 60 * 1024;  // fits one sealed frame (64 KiB payload)
inline constexpr std::size_t kMaxExpectations = 8;
inline constexpr std::size_t kMaxLabel = 120;
inline constexpr std::size_t kMaxResultReason = 200;
inline constexpr std::size_t kMaxStepResponse = 64;

// An expected status word: (sw & mask) == value. 9000 exactly, or 9F00/FF00 for "9F any".
struct SwPattern {
  std::uint16_t value = card::sw::kOk;
  std::uint16_t mask = 0xFFFF;
  bool matches(std::uint16_t sw) const { return (sw & mask) == value; }
  bool operator==(const SwPattern&) const = default;
};
inline constexpr SwPattern kSwOk{card::sw::kOk, 0xFFFF};
inline constexpr SwPattern kSw9fAny{0x9F00, 0xFF00};
// CREATE FILE on a FID the current DF already holds (TS 102 222 §6.3): what a retry of a half-written
// card meets at every file the earlier run created.
inline constexpr std::uint16_t kSwFileExists = card::sw::kFileExists;
// VERIFY with a wrong code, tries left (GSM 11.11 §9.4.5): what a retry meets when it guessed the wrong
// one of the card's two possible ADM1 codes (docs/personalisation.md §5).
inline constexpr std::uint16_t kSwCodeRefused = card::sw::kAccessDenied;

enum class PlaceholderKind : std::uint8_t { CustomerPin = 1, CustomerPuk = 2 };

// Where the STE writes what the customer typed: `length` bytes at `offset` in the APDU's data
// (after the 5 header bytes), the digits as ASCII, then `padding`.
struct Placeholder {
  PlaceholderKind kind = PlaceholderKind::CustomerPin;
  std::uint8_t offset = 0;
  std::uint8_t length = 8;
  std::uint8_t padding = 0xFF;
  bool operator==(const Placeholder&) const = default;
};

struct ScriptStep {
  SecretBytes apdu;  // header + data; the placeholder's bytes are FF in the script
  std::vector<SwPattern> expect;
  std::optional<Placeholder> placeholder;
  bool secret = false;        // carries a code or a key: never log the APDU
  bool want_response = false; // after 9Fxx/61xx fetch the data with GET RESPONSE and return it
  std::string label;          // e.g. "update 3F00/7F20/6F07 (IMSI)"
  // Only on a CREATE FILE step: when the card answers 6A89 (the file exists, made by an earlier run
  // that was cut short), send this SELECT of the same FID instead, which must answer 9Fxx (or
  // 61xx / 9000), and go on. The card is then where a successful CREATE would have left it, so
  // the next UPDATE rewrites that file. Empty: 6A89 stops the script like any unexpected word.
  Bytes if_exists;
  // Only on step 1, a VERIFY ADM: when the card answers 9804 (wrong code), present this VERIFY of the
  // other possible code (same CLA/INS/P1/P2) once. A retry uses it when the ADS cannot know whether the
  // card still holds its master code or already took its issuer code. The step's status word is then
  // 9804 when the alternative opened the card (the script goes on), the alternative's word otherwise.
  SecretBytes if_refused;
};

// What the STE asks on its keypad before it runs the script.
struct KeypadPrompts {
  bool pin = false;          // customer PIN, 4..8 digits
  bool pin_confirm = false;  // typed twice
  bool puk = false;          // customer PUK, 8 digits
  bool operator==(const KeypadPrompts&) const = default;
};

struct Script {
  KeypadPrompts prompts;
  std::vector<ScriptStep> steps;
};

// Encodes a script; refuses one that decode_script would refuse. The bytes hold codes and keys.
Result<SecretBytes> encode_script(const Script& script);
Result<Script> decode_script(ByteView bytes);
// The checks decode_script makes, for a script built in memory.
Result<void> validate_script(const Script& script);

// Whether a command APDU is a VERIFY of an ADM code (INS 20, P2 not CHV1/CHV2).
bool is_adm_verify(ByteView apdu);
// The FID a CREATE FILE APDU (INS E0, FCP tag 62) creates: its tag 83. nullopt if it is not one.
std::optional<std::uint16_t> created_fid(ByteView apdu);
// The "exists" fallback of a CREATE FILE of `fid`: SELECT by FID with the same class byte.
inline Bytes select_fid_apdu(std::uint8_t cla, std::uint16_t fid) { return card::select_apdu(fid, cla); }
// The status words a SELECT answers when it worked: 9Fxx (GSM 11.11), 61xx (UICC), 9000.
bool select_succeeded(std::uint16_t sw);
// Whether `sw`, recorded for `step` in a ScriptResult, is one the step may end with: an expected
// word, or for a step with an "exists" fallback the fallback SELECT's success.
bool step_accepts(const ScriptStep& step, std::uint16_t sw);

enum class ScriptOutcome : std::uint8_t {
  Completed = 0,
  UnexpectedStatus = 1,  // a step answered a status word the script did not expect
  TransmitFailed = 2,    // the card or reader failed (card pulled, reader gone)
  Refused = 3,           // the STE refused to run it (bad script, missing keypad entry); nothing sent
};
std::string_view name(ScriptOutcome outcome);

// What the STE sends back (P3): one status word per step sent, in order; on failure the last one
// belongs to the failing step (none when transmit itself failed).
struct ScriptResult {
  ScriptOutcome outcome = ScriptOutcome::Refused;
  std::uint16_t failed_step = 0;  // index of the step that failed; = steps run when completed
  std::vector<std::uint16_t> status_words;
  std::string reason;  // printable ASCII, no secrets
  Bytes response;      // the want_response step's data (SRES || Kc)
  bool operator==(const ScriptResult&) const = default;
};

// Whether a result that went past step 1 says the card was opened by step 1's alternative code.
bool opened_by_alternative(const ScriptResult& result);

Bytes encode_script_result(const ScriptResult& result);
Result<ScriptResult> decode_script_result(ByteView bytes);

}  // namespace cardperso::perso
