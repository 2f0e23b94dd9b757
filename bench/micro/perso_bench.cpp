// Personalisation work: building the script for the shipped default profile (ADS), its codec (P2),
// running it on an in-memory blank virtual SIM (STE), and Milenage GSM (the card and the ADS proof).
#include <benchmark/benchmark.h>

#include <optional>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/milenage.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "cardperso/testing/perso_test_set.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::perso;

using namespace cardperso::testing::perso_set;

const CardProfile& default_profile() {
  static const CardProfile profile = [] {
    auto p = load_default_card_profile();
    if (!p) throw std::runtime_error(p.error().message);
    return *p;
  }();
  return profile;
}

SecretBytes master_code() { return blank_master_code(kIccid); }

// What the ADS builds the script from: the shipped default profile and the test card's values.
struct ScriptInputs {
  const CardProfile& profile = default_profile();
  const PersoValues values = card_values(kIccid, master_code());
  Result<Script> build() const { return build_personalisation_script(profile, values); }
};

void BM_ScriptBuild(benchmark::State& state) {
  const ScriptInputs inputs;
  std::size_t steps = 0;
  for (auto _ : state) {
    auto script = inputs.build();
    if (!script) {
      state.SkipWithError(script.error().message.c_str());
      break;
    }
    steps = script->steps.size();
    benchmark::DoNotOptimize(script->steps.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["steps"] = static_cast<double>(steps);
}
BENCHMARK(BM_ScriptBuild)->Unit(benchmark::kMicrosecond);

// Build + encode: what the ADS produces for P2. script_bytes is the plaintext P2 size.
void BM_ScriptBuildEncode(benchmark::State& state) {
  const ScriptInputs inputs;
  std::size_t size = 0;
  for (auto _ : state) {
    auto script = inputs.build();
    auto encoded = encode_script(*script);
    if (!encoded) {
      state.SkipWithError(encoded.error().message.c_str());
      break;
    }
    size = encoded->size();
    benchmark::DoNotOptimize(encoded->view().data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  state.counters["script_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_ScriptBuildEncode)->Unit(benchmark::kMicrosecond);

void BM_ScriptDecode(benchmark::State& state) {
  auto encoded = encode_script(*ScriptInputs().build());
  for (auto _ : state) {
    auto script = decode_script(encoded->view());
    if (!script) {
      state.SkipWithError(script.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(script->steps.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(encoded->size()));
}
BENCHMARK(BM_ScriptDecode)->Unit(benchmark::kMicrosecond);

// One personalisation of a fresh blank card (card creation not timed). items = cards, apdus = APDUs/s.
void BM_ScriptExecuteOnSimCard(benchmark::State& state) {
  const auto script = ScriptInputs().build();
  const SecretBytes master = master_code();
  const KeypadEntries customer{ascii_secret("1234"), ascii_secret("1234"),
                               ascii_secret("12345678")};
  std::size_t apdus = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::optional<cardsim::SimCard> card(std::in_place, cardsim::make_blank_sim(kIccid, master.view()));
    card->power_on();
    std::size_t sent = 0;
    const TransmitFn transmit = [&](ByteView apdu) -> Result<Bytes> {
      ++sent;
      return card->transmit(apdu);
    };
    state.ResumeTiming();
    const ScriptResult result = execute_script(*script, customer, transmit);
    if (result.outcome != ScriptOutcome::Completed) {
      state.SkipWithError(result.reason.c_str());
      break;
    }
    apdus = sent;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["apdus"] = benchmark::Counter(static_cast<double>(apdus) * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScriptExecuteOnSimCard)->Unit(benchmark::kMicrosecond);

void BM_MilenageGsm(benchmark::State& state) {
  const Bytes ki = hex(kKi), opc = hex(kOpc), rand = hex(kRand);
  for (auto _ : state) {
    auto triplet = milenage::gsm(ki, opc, rand);
    benchmark::DoNotOptimize(triplet.sres.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MilenageGsm);

}  // namespace
