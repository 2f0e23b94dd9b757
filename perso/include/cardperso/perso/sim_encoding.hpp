#pragma once
// The subscriber values personalisation writes, as GSM 11.11 file contents. The encodings themselves
// are the card layer's (cardperso/card/, docs/cards.md §6.2); personalisation names them here, in its
// own namespace, for the ADS and STE code that composes and checks scripts.
#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/gsm7_text.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/imsi.hpp"
#include "cardperso/card/msisdn.hpp"
#include "cardperso/card/plmn.hpp"
#include "cardperso/card/service_files.hpp"

namespace cardperso::perso {

using card::all_digits;
using card::decode_gsm7;
using card::decode_iccid;
using card::decode_imsi;
using card::decode_msisdn_record;
using card::decode_plmn;
using card::decode_plmnsel;
using card::decode_spn;
using card::decode_sst;
using card::encode_acc_from_imsi;
using card::encode_ad;
using card::encode_gsm7;
using card::encode_iccid;
using card::encode_imsi;
using card::encode_msisdn_record;
using card::encode_plmn;
using card::encode_plmnsel;
using card::encode_spn;
using card::encode_sst;
using card::luhn_digit;
using card::Msisdn;
using card::parse_plmn;
using card::Plmn;
using card::Spn;
using card::to_string;

}  // namespace cardperso::perso
