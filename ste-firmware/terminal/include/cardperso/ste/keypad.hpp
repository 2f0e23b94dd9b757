#pragma once
// The STE's PIN pad. PINs are typed here and checked by the card; they never leave the terminal.
// Two sources: the terminal's own keyboard with echo off, or a keypad script (a file or an fd, one
// entry per line) for unattended runs and tests.
#include <memory>
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ste {

class Keypad {
 public:
  virtual ~Keypad() = default;
  // One entry of min..max digits, as ASCII bytes. A non-digit entry is refused here, before the card.
  virtual Result<SecretBytes> read_digits(std::string_view prompt, std::size_t min_digits, std::size_t max_digits) = 0;
  // The OK / Cancel keys: true for OK. A keypad script holds "ok" or "cancel" (any case) for it.
  virtual Result<bool> confirm(std::string_view prompt) = 0;
};

// Reads /dev/tty with echo off. Fails with a clear message when there is no terminal.
std::unique_ptr<Keypad> make_tty_keypad();
// Script: "file:PATH" or "fd:N". Blank lines and lines starting with '#' are skipped.
Result<std::unique_ptr<Keypad>> make_script_keypad(const std::string& spec);

// "ok" -> true, "cancel" -> false (any case, surrounding blanks ignored); anything else is refused.
Result<bool> parse_confirmation(std::string_view entry);

// Validates one entry: digits only, length in range. The message never contains the entry.
Result<void> check_digits(const SecretBytes& entry, std::size_t min_digits, std::size_t max_digits);

}  // namespace cardperso::ste
