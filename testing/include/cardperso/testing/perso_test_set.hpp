#pragma once
// One customer's card as the in-memory personalisation tests and benchmarks build it: the shipped
// default profile, the TS 35.207 test set 1 subscriber keys, and the batch secret the blank virtual
// SIMs' master (opening) codes derive from. A namespace of its own, so a test can take the whole set
// in with one using-directive.
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"

namespace cardperso::testing::perso_set {

inline constexpr const char* kIccid = "8988211000000000011";
inline constexpr const char* kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";  // TS 35.207 test set 1
inline constexpr const char* kOpc = "cd63cb71954a9f4e48a5994e37a02baf";
inline constexpr const char* kRand = "23553cbe9637a89d218ae64dae47bf35";
inline constexpr const char* kIssuerCode = "a1b2c3d4e5f60718";
inline constexpr const char* kBatchSecret = "000102030405060708090a0b0c0d0e0f";

SecretBytes secret_hex(std::string_view h);
// ASCII digits as a keypad entry.
SecretBytes ascii_secret(std::string_view s);

// profiles/gsm-sim-default.json of this source tree.
Result<perso::CardProfile> load_default_card_profile();
// The master code a blank virtual SIM with this ICCID was made with (derived from kBatchSecret).
SecretBytes blank_master_code(std::string_view iccid);

// The ADS's values for card `iccid` opened with `opening_code`: the test set keys and RAND, issuer
// code kIssuerCode, IMSI 001010000123456, MSISDN +41791234567, SPN "GSM-R CH" and three PLMNs.
perso::PersoValues card_values(std::string iccid, SecretBytes opening_code);

// What an STE answers to the ADS's K1 (CardCheck) for the card behind `transmit`: the card's CARD
// PROOF of the challenge when there is one (CardSilent when the card cannot give it), and the
// clerk's OK or cancel. The encoded K2 (CardCheckAnswer) plaintext; a malformed K1 is an error.
Result<Bytes> card_check_answer(ByteView k1_plaintext, const perso::TransmitFn& transmit, bool confirm = true);

}  // namespace cardperso::testing::perso_set
