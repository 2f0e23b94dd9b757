#pragma once
// ADS side: composes the personalisation (or modification) script for one card from its card
// profile and the subscriber's values. Codes typed by the customer are placeholders the STE fills:
// the ADS never sees the PIN or PUK. docs/personalisation.md §3 lists the steps and the APDU counts.
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/sim_encoding.hpp"

namespace cardperso::perso {

enum class PersoMode { Personalise, Modify };

// Empty strings / SecretBytes and absent optionals mean "not given". Personalise needs every value
// the profile writes; Modify writes only the values given (and what follows from them: a new IMSI
// also rewrites ACC and AD).
struct PersoValues {
  std::string iccid;          // the card's, as read by the STE (labels; written only if the profile says so)
  std::string imsi;           // 6..15 digits
  std::string msisdn;         // digits, optional leading '+'
  SecretBytes ki, opc;        // 16 bytes each
  std::optional<std::string> spn;
  std::optional<std::vector<Plmn>> plmns;  // PLMN selector, in order of preference
  int mnc_length = 2;                      // EF_AD
  SecretBytes issuer_code;   // 8 bytes: the card's new ADM1 (Personalise; optional in Modify)
  SecretBytes opening_code;  // 8 bytes: the manufacturer master code, or the current issuer code
  bool opening_is_issuer_code = false;  // Personalise: a retry of a card that took an issuer code (labels only)
  // Personalise, a retry: the other code the card may hold (step 1's VERIFY alternative); empty: none.
  SecretBytes opening_alternative;
  PersoMode mode = PersoMode::Personalise;
  Bytes rand;  // 16 bytes: the proof's RAND (required to personalise, optional to modify)
};

Result<Script> build_personalisation_script(const CardProfile& profile, const PersoValues& values);

// APDUs the STE sends for a script: one per step plus the GET RESPONSE of a want_response step.
std::size_t count_apdus(const Script& script);
// The most the STE may send: count_apdus plus one fallback SELECT per CREATE FILE step whose file
// already exists (a retry of a half-written card; docs/personalisation.md §5).
std::size_t count_max_apdus(const Script& script);
// APDUs the same personalisation takes when every file is reached from the MF one SELECT (and its
// GET RESPONSE) at a time and each value is written on its own (docs/personalisation.md §3).
std::size_t count_naive_apdus(const CardProfile& profile);

// The proof: SRES || Kc from the card equal Milenage-GSM(Ki, OPc, RAND), compared in constant time.
Result<void> check_proof(const ScriptResult& result, ByteView ki, ByteView opc, ByteView rand);

}  // namespace cardperso::perso
