#pragma once
// What one profile file holds for one card: the bytes its value encodes to, and whether a
// modification writes it at all. The script builder and the ADS's record of what a script wrote
// (written_files) both ask here, so the record can never disagree with the script.
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script_builder.hpp"

namespace cardperso::perso {

// A modification writes only the values given, and what follows from them (a new IMSI also
// rewrites ACC and AD). The ICCID, the service table and fixed hex are never rewritten.
bool written_in_modify(ValueSource source, const PersoValues& values);

// The encoded value of a file whose value is not a key; a missing input is an error naming it.
// Ki and OPc are secrets the builder frames itself: asking for them here is an error.
Result<Bytes> encode_clear_value(const ProfileFile& file, const PersoValues& values);

}  // namespace cardperso::perso
