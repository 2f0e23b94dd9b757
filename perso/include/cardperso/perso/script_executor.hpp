#pragma once
// STE side, sans-I/O: runs a personalisation script over any transmit function (the PC/SC reader
// in the STE, a SimCard in tests). One pass, no retries: it stops at the first status word the
// script did not expect, so a wrong master or issuer code is presented exactly once.

#include <cstddef>
#include <functional>

#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/script.hpp"

namespace cardperso::perso {

// One command APDU in, response data || SW1 SW2 out; an error when the card or reader failed.
using TransmitFn = card::TransmitFn;

// What the customer typed on the STE keypad, as ASCII digits (never padded).
struct KeypadEntries {
  SecretBytes pin;        // 4..8 digits
  SecretBytes pin_again;  // the confirmation; must equal pin when the script asks for it
  SecretBytes puk;        // 8 digits
};

// Checks the entries against the script's prompts; the STE asks again instead of running on a
// mistyped confirmation.
Result<void> check_keypad_entries(const Script& script, const KeypadEntries& entries);

// Runs the steps in order. Placeholders are filled from `entries` into a wiped-after-use copy of
// the APDU. A step that asks for its response gets one GET RESPONSE after 9Fxx or 61xx.
ScriptResult execute_script(const Script& script, const KeypadEntries& entries, const TransmitFn& transmit);
// The same, telling `on_step` before each step goes to the card: step k (1-based) of n. For the
// terminal's progress display; it must not throw.
using StepObserver = std::function<void(std::size_t step, std::size_t steps)>;
ScriptResult execute_script(const Script& script, const KeypadEntries& entries, const TransmitFn& transmit,
                            const StepObserver& on_step);

}  // namespace cardperso::perso
