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

namespace {

using namespace cardperso;
using namespace cardperso::perso;

const char* const kIccid = "8988211000000000011";
const char* const kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";  // TS 35.207 test set 1
const char* const kOpc = "cd63cb71954a9f4e48a5994e37a02baf";
const char* const kRand = "23553cbe9637a89d218ae64dae47bf35";

SecretBytes secret_hex(std::string_view h) {
  const Bytes b = hex(h);
  return SecretBytes(ByteView(b));
}
SecretBytes ascii(std::string_view s) {
  return SecretBytes(ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

const CardProfile& default_profile() {
  static const CardProfile profile = [] {
    auto p = load_card_profile(std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json");
    if (!p) throw std::runtime_error(p.error().message);
    return *p;
  }();
  return profile;
}

SecretBytes master_code() { return cardsim::derive_master_code(hex("000102030405060708090a0b0c0d0e0f"), kIccid); }

PersoValues values() {
  PersoValues v;
  v.iccid = kIccid;
  v.imsi = "001010000123456";
  v.msisdn = "+41791234567";
  v.ki = secret_hex(kKi);
  v.opc = secret_hex(kOpc);
  v.spn = "GSM-R CH";
  v.plmns = std::vector<Plmn>{{"001", "01"}, {"295", "10"}, {"302", "361"}};
  v.issuer_code = secret_hex("a1b2c3d4e5f60718");
  v.opening_code = master_code();
  v.rand = hex(kRand);
  return v;
}

void BM_ScriptBuild(benchmark::State& state) {
  const CardProfile& profile = default_profile();
  const PersoValues v = values();
  std::size_t steps = 0;
  for (auto _ : state) {
    auto script = build_personalisation_script(profile, v);
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
  const CardProfile& profile = default_profile();
  const PersoValues v = values();
  std::size_t size = 0;
  for (auto _ : state) {
    auto script = build_personalisation_script(profile, v);
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
  auto encoded = encode_script(*build_personalisation_script(default_profile(), values()));
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
  const auto script = build_personalisation_script(default_profile(), values());
  const SecretBytes master = master_code();
  const KeypadEntries customer{ascii("1234"), ascii("1234"), ascii("12345678")};
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
