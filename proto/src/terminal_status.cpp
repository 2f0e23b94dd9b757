#include "cardperso/proto/terminal_status.hpp"

#include <fmt/format.h>

#include <array>
#include <stdexcept>

namespace cardperso::proto {

namespace {

// Indexed by the wire code; [0] is no prompt.
constexpr std::array<std::string_view, kMaxTerminalPrompt + 1> kNames = {
    "",
    "ready",
    "insert_retailer_card",
    "enter_retailer_pin",
    "wrong_retailer_pin",
    "retailer_card_blocked",
    "signed_on",
    "remove_retailer_card",
    "insert_customer_card",
    "confirm_on_terminal",
    "cancelled",
    "enter_customer_pin",
    "enter_customer_pin_again",
    "pins_differ",
    "enter_customer_puk",
    "writing",
    "card_done",
    "card_failed",
    "card_refused",
    "remove_customer_card",
    "session_ended",
    "refused",
};

}  // namespace

std::string_view to_string(TerminalPrompt prompt) {
  const auto raw = static_cast<std::uint8_t>(prompt);
  return raw >= 1 && raw <= kMaxTerminalPrompt ? kNames[raw] : std::string_view("unknown");
}

std::optional<TerminalPrompt> to_terminal_prompt(std::uint8_t raw) {
  if (raw < 1 || raw > kMaxTerminalPrompt) return std::nullopt;
  return static_cast<TerminalPrompt>(raw);
}

std::optional<TerminalPrompt> terminal_prompt_from_string(std::string_view name) {
  for (std::uint8_t raw = 1; raw <= kMaxTerminalPrompt; ++raw)
    if (kNames[raw] == name) return static_cast<TerminalPrompt>(raw);
  return std::nullopt;
}

Result<void> TerminalStatus::check() const {
  if (!to_terminal_prompt(static_cast<std::uint8_t>(prompt)))
    return fail(fmt::format("TerminalStatus prompt {} is not a known prompt", static_cast<int>(prompt)));
  switch (prompt) {
    case TerminalPrompt::Writing:
      if (step < 1 || step > steps || steps > kMaxStatusSteps)
        return fail(fmt::format("TerminalStatus writing step {} of {}: needs 1 <= step <= steps <= {}", step, steps,
                                kMaxStatusSteps));
      return {};
    case TerminalPrompt::WrongRetailerPin:
      if (steps != 0 || step > kMaxRetailerPinTries)
        return fail(fmt::format("TerminalStatus wrong_retailer_pin: {} tries left (at most {}) and steps {} (must be 0)",
                                step, kMaxRetailerPinTries, steps));
      return {};
    default:
      if (step != 0 || steps != 0)
        return fail(fmt::format("TerminalStatus {} carries step {} of {}; it takes none", to_string(prompt), step,
                                steps));
      return {};
  }
}

Bytes TerminalStatus::encode() const {
  if (auto ok = check(); !ok) throw std::invalid_argument(ok.error().message);
  Bytes out{static_cast<std::uint8_t>(prompt)};
  out.reserve(kSize);
  put_u16(out, step);
  put_u16(out, steps);
  return out;
}

Result<TerminalStatus> TerminalStatus::decode(ByteView payload) {
  if (payload.size() != kSize)
    return fail(fmt::format("TerminalStatus payload is {} bytes, expected exactly {}", payload.size(), kSize));
  const auto prompt = to_terminal_prompt(payload[0]);
  if (!prompt) return fail(fmt::format("TerminalStatus prompt code {} is unknown", payload[0]));
  TerminalStatus status{*prompt, get_u16(payload, 1), get_u16(payload, 3)};
  if (auto ok = status.check(); !ok) return ok.error();
  return status;
}

}  // namespace cardperso::proto
