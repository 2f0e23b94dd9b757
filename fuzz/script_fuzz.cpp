// perso::decode_script on arbitrary bytes (the P2 body the STE decrypts), and every script it accepts
// run by the STE's executor on a blank in-memory SimCard with fixed keypad entries. Invariants: a
// refusal says why; an accepted script validates, re-encodes to exactly the bytes it came from
// (one encoding per script: nothing hides in slack) and decodes again; the executor sends at most
// count_max_apdus() APDUs, each answered with a proper response; its result is consistent (completed:
// a status word per step that its step accepts; unexpected status: the last one is the failing step's and
// not expected; refused: nothing sent) and survives the P3 encoding; the card still reloads.
#include <algorithm>
#include <cstdint>

#include "card_checks.hpp"
#include "card_fixture.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "perso_fixture.hpp"

using namespace cardperso;
using namespace cardperso::perso;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxScriptBytes + 16) return 0;  // the secure channel never delivers more
  const ByteView input(data, size);
  auto script = decode_script(input);
  if (!script) {
    FUZZ_CHECK(!script.error().message.empty(), "a refusal must say why");
    return 0;
  }
  FUZZ_CHECK(script->steps.size() <= kMaxScriptSteps, "more steps than the bound");
  FUZZ_CHECK(validate_script(*script).ok(), "decode_script accepted what validate_script refuses");
  auto again = encode_script(*script);
  FUZZ_CHECK(again.ok(), "a decoded script does not encode");
  FUZZ_CHECK(again->size() == size && std::equal(input.begin(), input.end(), again->view().begin()),
             "decode/encode does not give back the same bytes");

  cardsim::SimCard card(fuzz_cards::blank_sim());
  card.power_on();
  std::size_t sent = 0;
  const TransmitFn transmit = [&](ByteView apdu) -> Result<Bytes> {
    ++sent;
    Bytes r = card.transmit(apdu);
    fuzz_cards::check_response(r);
    return r;
  };
  const ScriptResult result = execute_script(*script, fuzz_perso::keypad(), transmit);
  // A step with a fallback (CREATE: SELECT on 6A89; VERIFY ADM: the other code on 9804) may send one more.
  FUZZ_CHECK(sent <= count_max_apdus(*script), "more APDUs sent than the script and its fallbacks hold");
  switch (result.outcome) {
    case ScriptOutcome::Completed:
      FUZZ_CHECK(result.failed_step == script->steps.size() && result.status_words.size() == script->steps.size(),
                 "a completed run with a status word per step");
      for (std::size_t i = 0; i < script->steps.size(); ++i) {
        FUZZ_CHECK(step_accepts(script->steps[i], result.status_words[i]),
                   "a completed run with a status word its step does not accept");
      }
      break;
    case ScriptOutcome::UnexpectedStatus:
      FUZZ_CHECK(result.failed_step < script->steps.size() && result.status_words.size() == result.failed_step + 1u,
                 "an unexpected status names a step that ran");
      break;
    case ScriptOutcome::Refused:
      FUZZ_CHECK(sent == 0 && result.status_words.empty(), "a refused script sent APDUs");
      break;
    case ScriptOutcome::TransmitFailed:
      FUZZ_CHECK(false, "a SimCard never fails to transmit");
  }
  FUZZ_CHECK(!result.reason.empty() || result.outcome == ScriptOutcome::Completed, "a failure must say why");
  FUZZ_CHECK(result.response.size() <= kMaxStepResponse, "response over the bound");
  auto p3 = decode_script_result(encode_script_result(result));
  FUZZ_CHECK(p3.ok() && p3->outcome == result.outcome && p3->status_words == result.status_words &&
                 p3->response == result.response,
             "the result does not survive the P3 encoding");
  fuzz_cards::check_reloads(card.image());
  return 0;
}
