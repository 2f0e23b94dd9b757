// READ/UPDATE BINARY, READ/UPDATE RECORD, INVALIDATE, REHABILITATE on the current EF.
#include <algorithm>

#include "access_control.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim::cmd {

namespace {

enum class Op { Read, Update, Invalidate, Rehabilitate };

// The current EF if `op` may be applied to it; otherwise the status word that refuses it.
struct Target {
  CardFile* ef = nullptr;
  std::uint16_t refusal = card::sw::kOk;
};

Target current_ef_for(CardSession& s, Op op, bool want_records) {
  if (s.current_ef.empty()) return {nullptr, card::sw::kNoEfSelected};
  CardFile* ef = tree::find(s.image.files, s.current_ef);
  if (!ef) return {nullptr, card::sw::kNoEfSelected};
  if (op == Op::Read || op == Op::Update) {
    const bool is_records = ef->structure != EfStructure::Transparent;
    if (is_records != want_records) return {nullptr, card::sw::kInconsistent};
  }
  std::uint8_t nibble = 0xF;
  switch (op) {
    case Op::Read: nibble = is_secret_file(ef->path) ? 0xF : ef->access.read; break;
    case Op::Update: nibble = is_card_key_file(ef->path) ? 0xF : ef->access.update; break;
    case Op::Invalidate: nibble = ef->access.invalidate; break;
    case Op::Rehabilitate: nibble = ef->access.rehabilitate; break;
  }
  if (!access_granted(nibble, s.security, chv1_disabled(s.image))) return {nullptr, card::sw::kAccessDenied};
  if (ef->invalidated && (op == Op::Read || op == Op::Update)) return {nullptr, card::sw::kInvalidated};
  return {ef, card::sw::kOk};
}

// Writing a code file sets that code: its counter starts again from the maximum.
void after_write(CardSession& s, const CardFile& ef) {
  if (auto key = code_key_of_path(ef.path)) reset_tries(s.image, *key);
  s.mark_changed();
}

// Record number for READ/UPDATE RECORD, or 0 when the mode leads outside the file.
std::size_t resolve_record(const CardSession& s, const CardFile& ef, std::uint8_t p1, std::uint8_t mode) {
  const std::size_t count = tree::record_count(ef);
  const bool cyclic = ef.structure == EfStructure::Cyclic;
  if (count == 0) return 0;
  switch (mode) {
    case 0x02:  // next
      if (s.record == 0) return 1;
      if (s.record < count) return s.record + 1;
      return cyclic ? 1 : 0;
    case 0x03:  // previous
      if (s.record == 0) return count;
      if (s.record > 1) return s.record - 1;
      return cyclic ? count : 0;
    default:  // 0x04 absolute; P1 = 0 is the current record
      if (p1 == 0) return s.record;
      return p1 <= count ? p1 : 0;
  }
}

bool valid_record_mode(const Apdu& a) {
  if (a.p2 == 0x04) return true;
  return (a.p2 == 0x02 || a.p2 == 0x03) && a.p1 == 0x00;
}

}  // namespace

Bytes read_binary(CardSession& s, const Apdu& a) {
  auto t = current_ef_for(s, Op::Read, false);
  if (!t.ef) return card::sw::status(t.refusal);
  const std::size_t offset = (std::size_t{a.p1} << 8) | a.p2;
  const std::size_t length = a.p3 == 0 ? 256 : a.p3;
  const std::size_t size = t.ef->data.size();
  if (offset >= size || length > size - offset) return card::sw::status(card::sw::kOutOfRange);
  Bytes out(t.ef->data.begin() + static_cast<std::ptrdiff_t>(offset),
            t.ef->data.begin() + static_cast<std::ptrdiff_t>(offset + length));
  return card::sw::with_status(std::move(out), card::sw::kOk);
}

Bytes update_binary(CardSession& s, const Apdu& a) {
  if (a.p3 == 0) return card::sw::status(card::sw::kWrongP3);
  auto t = current_ef_for(s, Op::Update, false);
  if (!t.ef) return card::sw::status(t.refusal);
  const std::size_t offset = (std::size_t{a.p1} << 8) | a.p2;
  const std::size_t size = t.ef->data.size();
  if (offset >= size || a.data.size() > size - offset) return card::sw::status(card::sw::kOutOfRange);
  std::copy(a.data.begin(), a.data.end(), t.ef->data.begin() + static_cast<std::ptrdiff_t>(offset));
  after_write(s, *t.ef);
  return card::sw::status(card::sw::kOk);
}

Bytes read_record(CardSession& s, const Apdu& a) {
  if (!valid_record_mode(a)) return card::sw::status(card::sw::kWrongP1P2);
  auto t = current_ef_for(s, Op::Read, true);
  if (!t.ef) return card::sw::status(t.refusal);
  if (a.p3 != t.ef->record_length) return card::sw::status(card::sw::wrong_length(t.ef->record_length));
  const std::size_t rec = resolve_record(s, *t.ef, a.p1, a.p2);
  if (rec == 0) return card::sw::status(card::sw::kOutOfRange);
  s.record = rec;
  const auto begin = t.ef->data.begin() + static_cast<std::ptrdiff_t>((rec - 1) * t.ef->record_length);
  return card::sw::with_status(Bytes(begin, begin + static_cast<std::ptrdiff_t>(t.ef->record_length)), card::sw::kOk);
}

Bytes update_record(CardSession& s, const Apdu& a) {
  if (!valid_record_mode(a)) return card::sw::status(card::sw::kWrongP1P2);
  auto t = current_ef_for(s, Op::Update, true);
  if (!t.ef) return card::sw::status(t.refusal);
  CardFile& ef = *t.ef;
  if (a.p3 != ef.record_length) return card::sw::status(card::sw::wrong_length(ef.record_length));
  const auto len = static_cast<std::ptrdiff_t>(ef.record_length);
  if (ef.structure == EfStructure::Cyclic) {
    // GSM 11.11: a cyclic file is only written in PREVIOUS mode; the oldest record becomes record 1.
    if (a.p2 != 0x03) return card::sw::status(card::sw::kInconsistent);
    if (tree::record_count(ef) == 0) return card::sw::status(card::sw::kOutOfRange);
    std::rotate(ef.data.begin(), ef.data.end() - len, ef.data.end());
    std::copy(a.data.begin(), a.data.end(), ef.data.begin());
    s.record = 1;
  } else {
    const std::size_t rec = resolve_record(s, ef, a.p1, a.p2);
    if (rec == 0) return card::sw::status(card::sw::kOutOfRange);
    std::copy(a.data.begin(), a.data.end(), ef.data.begin() + static_cast<std::ptrdiff_t>(rec - 1) * len);
    s.record = rec;
  }
  after_write(s, ef);
  return card::sw::status(card::sw::kOk);
}

Bytes invalidate(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  auto t = current_ef_for(s, Op::Invalidate, false);
  if (!t.ef) return card::sw::status(t.refusal);
  if (!t.ef->invalidated) {
    t.ef->invalidated = true;
    s.mark_changed();
  }
  return card::sw::status(card::sw::kOk);
}

Bytes rehabilitate(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  auto t = current_ef_for(s, Op::Rehabilitate, false);
  if (!t.ef) return card::sw::status(t.refusal);
  if (t.ef->invalidated) {
    t.ef->invalidated = false;
    s.mark_changed();
  }
  return card::sw::status(card::sw::kOk);
}

}  // namespace cardperso::cardsim::cmd
