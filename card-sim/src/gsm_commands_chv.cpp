// VERIFY, CHANGE, DISABLE, ENABLE and UNBLOCK CHV (GSM 11.11 §9.2.9–9.2.13).
#include "cardperso/card/file_ids.hpp"
#include "gsm_commands.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim::cmd {

namespace {

std::optional<std::uint8_t> verify_key(std::uint8_t p2) {
  switch (p2) {
    case card::kRefChv1: return kKeyChv1;
    case card::kRefChv2: return kKeyChv2;
    case card::kRefAdm1: return kKeyAdm1;
    default: return std::nullopt;
  }
}

Bytes present(CardSession& s, std::uint8_t key, ByteView code) {
  bool moved = false;
  const auto word = present_code(s.image, s.security, key, code, moved);
  if (moved) s.mark_changed();
  return card::sw::status(word);
}

}  // namespace

Bytes verify_chv(CardSession& s, const Apdu& a) {
  auto key = verify_key(a.p2);
  if (a.p1 != 0x00 || !key) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != card::kCodeSize) return card::sw::status(card::sw::wrong_length(card::kCodeSize));
  if (*key == kKeyChv1 && chv1_disabled(s.image)) return card::sw::status(card::sw::kChvContradiction);
  return present(s, *key, a.data);
}

Bytes change_chv(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || (a.p2 != card::kRefChv1 && a.p2 != card::kRefChv2)) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != 2 * card::kCodeSize) return card::sw::status(card::sw::wrong_length(2 * card::kCodeSize));
  const std::uint8_t key = a.p2 == card::kRefChv1 ? kKeyChv1 : kKeyChv2;
  if (key == kKeyChv1 && chv1_disabled(s.image)) return card::sw::status(card::sw::kChvContradiction);
  auto answer = present(s, key, a.data.first(card::kCodeSize));
  if (answer != card::sw::status(card::sw::kOk)) return answer;
  set_code(s.image, key, a.data.subspan(card::kCodeSize));
  s.mark_changed();
  return answer;
}

Bytes disable_chv(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != card::kRefChv1) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != card::kCodeSize) return card::sw::status(card::sw::wrong_length(card::kCodeSize));
  if (chv1_disabled(s.image)) return card::sw::status(card::sw::kChvContradiction);
  auto answer = present(s, kKeyChv1, a.data);
  if (answer != card::sw::status(card::sw::kOk)) return answer;
  s.image.chv_disabled[kKeyChv1] = true;
  s.mark_changed();
  return answer;
}

Bytes enable_chv(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != card::kRefChv1) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != card::kCodeSize) return card::sw::status(card::sw::wrong_length(card::kCodeSize));
  if (!chv1_disabled(s.image)) return card::sw::status(card::sw::kChvContradiction);
  auto answer = present(s, kKeyChv1, a.data);
  if (answer != card::sw::status(card::sw::kOk)) return answer;
  s.image.chv_disabled.erase(kKeyChv1);
  s.mark_changed();
  return answer;
}

Bytes unblock_chv(CardSession& s, const Apdu& a) {
  // GSM 11.11 quirk: CHV1 is coded 00 here. ADM1 has no unblock code.
  if (a.p1 != 0x00 || (a.p2 != 0x00 && a.p2 != card::kRefChv2)) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 != 2 * card::kCodeSize) return card::sw::status(card::sw::wrong_length(2 * card::kCodeSize));
  const std::uint8_t chv = a.p2 == 0x00 ? kKeyChv1 : kKeyChv2;
  const std::uint8_t puk = a.p2 == 0x00 ? kKeyUnblock1 : kKeyUnblock2;
  if (!code_initialised(s.image, chv)) return card::sw::status(card::sw::kNoChvInitialised);
  auto answer = present(s, puk, a.data.first(card::kCodeSize));
  if (answer != card::sw::status(card::sw::kOk)) return answer;
  set_code(s.image, chv, a.data.subspan(card::kCodeSize));
  if (chv == kKeyChv1) s.image.chv_disabled.erase(kKeyChv1);  // GSM 11.11 §9.2.13: CHV1 is enabled again
  s.security.set(chv, true);
  s.mark_changed();
  return answer;
}

}  // namespace cardperso::cardsim::cmd
