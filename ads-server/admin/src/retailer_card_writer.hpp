#pragma once
// Turns a blank SIM in a reader into a retailer card (docs/cards.md §1.2, §2), over any transmit
// function (the PC/SC adapter in production, a card engine in a test): no I/O of its own.
//
// Order, chosen so that the only irreversible step comes last: VERIFY ADM1 once with the card's
// current code (never retried: ADM tries never come back); CREATE + UPDATE 3F00/0000 (PIN) and 0001
// (PUK); CREATE DF 7F50, EF 6F01 (the keys, read NEVER) and EF 6F02 (the key version); VERIFY CHV1
// with the PIN and check each key through the card's own commands on random nonces (docs/cards.md
// §2.2), compared in constant time; only then UPDATE 3F00/000A with the issuer code. Until that
// last UPDATE the card still opens with its old ADM code.
#include <cstdint>
#include <string>

#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::adsctl {

// SELECT 3F00, SELECT 2FE2, READ BINARY 10: the card's ICCID as digits, which becomes the retailer serial.
Result<std::string> read_card_serial(const card::TransmitFn& transmit);

struct RetailerCardContent {
  SecretBytes pin;          // 8 bytes, card::encode_pin form
  SecretBytes puk;          // 8 bytes, same form
  cardsim::RetailerKeys keys;
  SecretBytes issuer_code;  // 8 bytes: the card's new ADM1
};

// Where a failed write left the card, for the operator.
enum class CardAfterFailure {
  Untouched,        // nothing was written; the old ADM code still opens it (AdmRefused: one try fewer)
  AdmRefused,       // VERIFY ADM1 was refused; nothing written
  PartlyWritten,    // some files were created/written; the old ADM code still opens it
  IssuerCodeUnsure, // UPDATE 000A was sent but its answer is unknown: the card may hold the new issuer code
};

struct WriteFailure {
  CardAfterFailure card = CardAfterFailure::Untouched;
  std::string message;  // what happened and what to do; never a code or a key
};

// Writes everything. On failure, says what state the card is in.
// An ok result means the card now holds the PIN, PUK, keys and issuer code, and computed with each key.
struct WriteOutcome {
  bool ok = false;
  WriteFailure failure;
};
WriteOutcome write_retailer_card(const card::TransmitFn& transmit, ByteView adm_code,
                                 const RetailerCardContent& content);

}  // namespace cardperso::adsctl
