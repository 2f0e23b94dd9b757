#include "cardperso/perso/script_executor.hpp"

#include <algorithm>
#include <cstdio>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::perso {

namespace {

bool digits(const SecretBytes& s, std::size_t lo, std::size_t hi) {
  return s.size() >= lo && s.size() <= hi &&
         std::all_of(s.data(), s.data() + s.size(), [](std::uint8_t b) { return b >= '0' && b <= '9'; });
}

std::string sw_hex(std::uint16_t sw) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", sw);
  return buf;
}

std::string expected_list(const ScriptStep& s) {
  std::string out;
  for (const auto& e : s.expect) {
    if (!out.empty()) out += " or ";
    out += e.mask == 0xFF00 ? sw_hex(e.value).substr(0, 2) + "xx" : sw_hex(e.value);
  }
  return out;
}

std::string step_name(std::size_t i, const ScriptStep& s) {
  return "step " + std::to_string(i + 1) + " (" + s.label + ")";
}

ScriptResult refused(std::string reason) {
  ScriptResult r;
  r.outcome = ScriptOutcome::Refused;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

Result<void> check_keypad_entries(const Script& script, const KeypadEntries& e) {
  if (script.prompts.pin && !digits(e.pin, 4, 8)) return fail("the customer PIN must be 4 to 8 digits");
  if (script.prompts.pin_confirm && (e.pin_again.size() != e.pin.size() ||
                                     !std::equal(e.pin.data(), e.pin.data() + e.pin.size(), e.pin_again.data())))
    return fail("the two PINs typed differ; type them again");
  if (script.prompts.puk && !digits(e.puk, 8, 8)) return fail("the customer PUK must be 8 digits");
  // Every code must fit its place before the first APDU goes out: a refusal half-way would leave the
  // card half-written for a reason known from the start.
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    const ScriptStep& step = script.steps[i];
    if (!step.placeholder) continue;
    const SecretBytes& typed = step.placeholder->kind == PlaceholderKind::CustomerPin ? e.pin : e.puk;
    if (typed.size() > step.placeholder->length)
      return fail(step_name(i, step) + ": the code typed is longer than its place in the script; nothing was sent to the card");
  }
  return {};
}

ScriptResult execute_script(const Script& script, const KeypadEntries& entries, const TransmitFn& transmit) {
  return execute_script(script, entries, transmit, StepObserver{});
}

ScriptResult execute_script(const Script& script, const KeypadEntries& entries, const TransmitFn& transmit,
                            const StepObserver& on_step) {
  if (auto v = validate_script(script); !v) return refused(v.error().message);
  if (auto k = check_keypad_entries(script, entries); !k) return refused(k.error().message);

  ScriptResult result;
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    const ScriptStep& step = script.steps[i];
    result.failed_step = static_cast<std::uint16_t>(i);
    if (on_step) on_step(i + 1, script.steps.size());
    SecretBytes apdu(step.apdu.view());
    if (step.placeholder) {
      const Placeholder& p = *step.placeholder;
      const SecretBytes& typed = p.kind == PlaceholderKind::CustomerPin ? entries.pin : entries.puk;
      std::uint8_t* hole = apdu.data() + 5 + p.offset;
      std::fill(hole, hole + p.length, p.padding);
      std::copy(typed.data(), typed.data() + typed.size(), hole);
    }
    auto answer = transmit(apdu.view());
    apdu.wipe();
    if (!answer) {
      result.outcome = ScriptOutcome::TransmitFailed;
      result.reason = step_name(i, step) + ": " + answer.error().message;
      return result;
    }
    if (answer->size() < 2) {
      result.outcome = ScriptOutcome::TransmitFailed;
      result.reason = step_name(i, step) + ": the card answered without a status word";
      return result;
    }
    std::uint16_t sw = get_u16(*answer, answer->size() - 2);
    if (sw == kSwFileExists && !step.if_exists.empty()) {
      // An earlier run that was cut short created this file: select it, as the CREATE would have,
      // so the steps after it (the file's value) rewrite it. The step's status word is the SELECT's.
      auto selected = transmit(step.if_exists);
      if (!selected) {
        result.outcome = ScriptOutcome::TransmitFailed;
        result.reason = step_name(i, step) + ": file exists; SELECT: " + selected.error().message;
        return result;
      }
      sw = selected->size() >= 2 ? get_u16(*selected, selected->size() - 2) : 0;
      result.status_words.push_back(sw);
      if (!select_succeeded(sw)) {
        result.outcome = ScriptOutcome::UnexpectedStatus;
        result.reason = step_name(i, step) + ": file exists; SELECT answered " + sw_hex(sw) + ", expected 9Fxx";
        return result;
      }
      continue;
    }
    if (sw == kSwCodeRefused && !step.if_refused.empty()) {
      // A retry that could not know which ADM1 code the card holds: present the other one, once. A
      // correct VERIFY resets the card's ADM counter, so the wrong guess costs nothing lasting.
      auto again = transmit(step.if_refused.view());
      if (!again) {
        result.outcome = ScriptOutcome::TransmitFailed;
        result.reason = step_name(i, step) + ": first code refused; alternative: " + again.error().message;
        return result;
      }
      const std::uint16_t alt_sw = again->size() >= 2 ? get_u16(*again, again->size() - 2) : 0;
      if (std::any_of(step.expect.begin(), step.expect.end(), [alt_sw](const SwPattern& e) { return e.matches(alt_sw); })) {
        result.status_words.push_back(kSwCodeRefused);  // says: the alternative opened the card
        continue;
      }
      result.status_words.push_back(alt_sw);
      result.outcome = ScriptOutcome::UnexpectedStatus;
      result.reason = step_name(i, step) + ": both codes refused; the alternative answered " + sw_hex(alt_sw);
      return result;
    }
    result.status_words.push_back(sw);
    if (std::none_of(step.expect.begin(), step.expect.end(), [sw](const SwPattern& e) { return e.matches(sw); })) {
      result.outcome = ScriptOutcome::UnexpectedStatus;
      result.reason = step_name(i, step) + ": status word " + sw_hex(sw) + ", expected " + expected_list(step);
      return result;
    }
    if (!step.want_response) continue;

    const std::uint8_t length = card::sw::sw2(sw);
    Bytes data(answer->begin(), answer->end() - 2);
    if (card::sw::response_pending(sw)) {
      // GSM 11.11 (9Fxx) and UICC (61xx): the data waits for GET RESPONSE, same class byte. One
      // exact fetch, checked here, rather than the open-ended T=0 exchange: the step wants xx bytes.
      auto more = transmit(card::get_response_apdu(length, step.apdu[0]));
      if (!more) {
        result.outcome = ScriptOutcome::TransmitFailed;
        result.reason = step_name(i, step) + ": GET RESPONSE: " + more.error().message;
        return result;
      }
      const std::uint16_t gsw = more->size() >= 2 ? get_u16(*more, more->size() - 2) : 0;
      if (gsw != card::sw::kOk || more->size() - 2 != length) {
        result.outcome = ScriptOutcome::UnexpectedStatus;
        result.reason = step_name(i, step) + ": GET RESPONSE answered " + sw_hex(gsw) + " with " +
                        std::to_string(more->size() < 2 ? 0 : more->size() - 2) + " bytes, expected 9000 with " +
                        std::to_string(length);
        return result;
      }
      data.assign(more->begin(), more->end() - 2);
    }
    if (data.size() > kMaxStepResponse) {
      result.outcome = ScriptOutcome::UnexpectedStatus;
      result.reason = step_name(i, step) + ": response longer than " + std::to_string(kMaxStepResponse) + " bytes";
      return result;
    }
    result.response = std::move(data);
  }
  result.outcome = ScriptOutcome::Completed;
  result.failed_step = static_cast<std::uint16_t>(script.steps.size());
  return result;
}

}  // namespace cardperso::perso
