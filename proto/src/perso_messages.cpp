#include "cardperso/proto/perso_messages.hpp"

#include <stdexcept>

namespace cardperso::proto {

namespace {

// A bounds-checked reader over one plaintext; every read says what it was reading when it fails.
class Reader {
 public:
  Reader(ByteView data, const char* message) : data_(data), message_(message) {}

  Result<std::uint8_t> u8(const char* field) {
    if (pos_ + 1 > data_.size()) return truncated(field);
    return data_[pos_++];
  }
  Result<std::uint16_t> u16(const char* field) {
    if (pos_ + 2 > data_.size()) return truncated(field);
    auto v = get_u16(data_, pos_);
    pos_ += 2;
    return v;
  }
  Result<std::uint64_t> u64(const char* field) {
    if (pos_ + 8 > data_.size()) return truncated(field);
    auto v = get_u64(data_, pos_);
    pos_ += 8;
    return v;
  }
  Result<ByteView> bytes(std::size_t n, const char* field) {
    if (pos_ + n > data_.size()) return truncated(field);
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  Result<void> finish() {
    if (pos_ != data_.size())
      return fail(std::string(message_) + ": " + std::to_string(data_.size() - pos_) + " trailing bytes");
    return {};
  }
  Error bad(const char* field, const std::string& why) const {
    return fail(std::string(message_) + ": bad " + field + ": " + why);
  }

 private:
  Error truncated(const char* field) const { return fail(std::string(message_) + ": truncated at " + field); }
  ByteView data_;
  const char* message_;
  std::size_t pos_ = 0;
};

bool printable(ByteView s) {
  for (auto c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}
bool no_nul(ByteView s) {
  for (auto c : s)
    if (c == 0) return false;
  return true;
}
bool digits(ByteView s) {
  for (auto c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
bool msisdn_chars(ByteView s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '+'))) return false;
  return true;
}
std::string text(ByteView s) { return std::string(s.begin(), s.end()); }
// Well-formed UTF-8 (no overlong forms, no surrogates) without C0/C1 controls or DEL: a customer's
// name as a display may show it, never a byte that moves its cursor.
bool display_utf8(ByteView s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    if (i + n + 1 > s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F)) return false;
    i += n + 1;
  }
  return true;
}
bool challenge_size(std::size_t n) { return n == 0 || n == kCardChallengeSize; }

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}
void put_str8(Bytes& out, const std::string& s) {
  out.push_back(static_cast<std::uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void put_str16(Bytes& out, const std::string& s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
Result<RequestKind> kind_of(std::uint8_t raw, const Reader& r) {
  if (raw == 1) return RequestKind::NewCard;
  if (raw == 2) return RequestKind::Modification;
  return r.bad("kind", "must be 1 (new card) or 2 (modification), got " + std::to_string(raw));
}

}  // namespace

Bytes CustomerDetailsMsg::encode() const {
  require(!json.empty() && json.size() <= kMaxDetailsJson && no_nul(view(json)), "C1 json out of bounds");
  Bytes out{static_cast<std::uint8_t>(kind)};
  put_str16(out, json);
  return out;
}

Result<CustomerDetailsMsg> CustomerDetailsMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "CustomerDetails");
  auto k = r.u8("kind");
  if (!k) return k.error();
  auto kind = kind_of(*k, r);
  if (!kind) return kind.error();
  auto len = r.u16("json length");
  if (!len) return len.error();
  if (*len == 0 || *len > kMaxDetailsJson) return r.bad("json length", "must be 1..4096");
  auto body = r.bytes(*len, "json");
  if (!body) return body.error();
  if (!no_nul(*body)) return r.bad("json", "contains a NUL byte");
  if (auto end = r.finish(); !end) return end.error();
  return CustomerDetailsMsg{*kind, text(*body)};
}

Bytes DecisionMsg::encode() const {
  require(reasons.size() <= kMaxReasonText && printable(view(reasons)), "C2 reasons out of bounds");
  Bytes out{static_cast<std::uint8_t>(go ? 1 : 0), static_cast<std::uint8_t>(kind)};
  put_u64(out, decision_id);
  put_str16(out, reasons);
  return out;
}

Result<DecisionMsg> DecisionMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "Decision");
  auto go = r.u8("go");
  if (!go) return go.error();
  if (*go > 1) return r.bad("go", "must be 0 or 1");
  auto k = r.u8("kind");
  if (!k) return k.error();
  auto kind = kind_of(*k, r);
  if (!kind) return kind.error();
  auto id = r.u64("decision id");
  if (!id) return id.error();
  auto len = r.u16("reasons length");
  if (!len) return len.error();
  if (*len > kMaxReasonText) return r.bad("reasons length", "over 1024");
  auto reasons = r.bytes(*len, "reasons");
  if (!reasons) return reasons.error();
  if (!printable(*reasons)) return r.bad("reasons", "not printable ASCII");
  if (auto end = r.finish(); !end) return end.error();
  return DecisionMsg{*go == 1, *kind, *id, text(*reasons)};
}

Bytes CardInsertedMsg::encode() const {
  require(iccid.size() >= 18 && iccid.size() <= kMaxIccidDigits && digits(view(iccid)), "P1 iccid out of bounds");
  require(atr.size() <= kMaxAtr, "P1 atr too long");
  Bytes out;
  put_str8(out, iccid);
  out.push_back(static_cast<std::uint8_t>(atr.size()));
  out.insert(out.end(), atr.begin(), atr.end());
  return out;
}

Result<CardInsertedMsg> CardInsertedMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "CardInserted");
  auto n = r.u8("iccid length");
  if (!n) return n.error();
  if (*n < 18 || *n > kMaxIccidDigits) return r.bad("iccid length", "must be 18..20 digits");
  auto iccid = r.bytes(*n, "iccid");
  if (!iccid) return iccid.error();
  if (!digits(*iccid)) return r.bad("iccid", "digits only");
  auto a = r.u8("atr length");
  if (!a) return a.error();
  if (*a > kMaxAtr) return r.bad("atr length", "over 33");
  auto atr = r.bytes(*a, "atr");
  if (!atr) return atr.error();
  if (auto end = r.finish(); !end) return end.error();
  return CardInsertedMsg{text(*iccid), Bytes(atr->begin(), atr->end())};
}

bool displayable_utf8(std::string_view text) {
  return display_utf8(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

Bytes CardCheckMsg::encode() const {
  require(challenge_size(challenge.size()), "K1 challenge must be 0 or 16 bytes");
  require(iccid.size() >= 18 && iccid.size() <= kMaxIccidDigits && digits(view(iccid)), "K1 iccid out of bounds");
  require(name.size() <= kMaxShownName && display_utf8(view(name)), "K1 name out of bounds");
  require(id.size() <= kMaxShownId && printable(view(id)), "K1 id out of bounds");
  require(changes.size() <= kMaxShownChanges && printable(view(changes)), "K1 changes out of bounds");
  Bytes out{static_cast<std::uint8_t>(kind), static_cast<std::uint8_t>(challenge.size())};
  out.insert(out.end(), challenge.begin(), challenge.end());
  put_str8(out, iccid);
  put_str8(out, name);
  put_str8(out, id);
  put_str16(out, changes);
  return out;
}

Result<CardCheckMsg> CardCheckMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "CardCheck");
  CardCheckMsg m;
  auto k = r.u8("kind");
  if (!k) return k.error();
  auto kind = kind_of(*k, r);
  if (!kind) return kind.error();
  m.kind = *kind;
  auto c = r.u8("challenge length");
  if (!c) return c.error();
  if (!challenge_size(*c)) return r.bad("challenge length", "must be 0 or 16");
  auto challenge = r.bytes(*c, "challenge");
  if (!challenge) return challenge.error();
  m.challenge.assign(challenge->begin(), challenge->end());
  // The text fields: length-prefixed (1 byte, the changes 2), bounded, each with its character set.
  struct TextField {
    std::string* out;
    const char* name;
    std::size_t length_bytes, min, max;
    bool (*allowed)(ByteView);
    const char* rule;
  };
  const TextField fields[] = {
      {&m.iccid, "iccid", 1, 18, kMaxIccidDigits, digits, "18..20 digits"},
      {&m.name, "name", 1, 0, kMaxShownName, display_utf8, "UTF-8 without control characters, at most 128 bytes"},
      {&m.id, "id", 1, 0, kMaxShownId, printable, "printable ASCII, at most 64 bytes"},
      {&m.changes, "changes", 2, 0, kMaxShownChanges, printable, "printable ASCII, at most 1024 bytes"},
  };
  for (const auto& f : fields) {
    std::size_t n = 0;
    if (f.length_bytes == 1) {
      auto v = r.u8(f.name);
      if (!v) return v.error();
      n = *v;
    } else {
      auto v = r.u16(f.name);
      if (!v) return v.error();
      n = *v;
    }
    if (n < f.min || n > f.max) return r.bad(f.name, f.rule);
    auto value = r.bytes(n, f.name);
    if (!value) return value.error();
    if (!f.allowed(*value)) return r.bad(f.name, f.rule);
    *f.out = text(*value);
  }
  if (auto end = r.finish(); !end) return end.error();
  return m;
}

Bytes CardCheckAnswerMsg::encode() const {
  require(challenge_size(proof.size()), "K2 proof must be 0 or 16 bytes");
  require(answer == CheckAnswer::Confirmed || proof.empty(), "K2 carries a proof only with OK");
  Bytes out{static_cast<std::uint8_t>(answer), static_cast<std::uint8_t>(proof.size())};
  out.insert(out.end(), proof.begin(), proof.end());
  return out;
}

Result<CardCheckAnswerMsg> CardCheckAnswerMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "CardCheckAnswer");
  auto a = r.u8("answer");
  if (!a) return a.error();
  if (*a > static_cast<std::uint8_t>(CheckAnswer::CardSilent)) return r.bad("answer", "must be 0..2");
  auto n = r.u8("proof length");
  if (!n) return n.error();
  if (!challenge_size(*n)) return r.bad("proof length", "must be 0 or 16");
  if (*n != 0 && *a != 0) return r.bad("proof", "only an OK carries one");
  auto proof = r.bytes(*n, "proof");
  if (!proof) return proof.error();
  if (auto end = r.finish(); !end) return end.error();
  return CardCheckAnswerMsg{static_cast<CheckAnswer>(*a), Bytes(proof->begin(), proof->end())};
}

Bytes DoneMsg::encode() const {
  require(iccid.size() <= kMaxIccidDigits && digits(view(iccid)), "P4 iccid out of bounds");
  require(msisdn.size() <= kMaxMsisdn && msisdn_chars(view(msisdn)), "P4 msisdn out of bounds");
  require(reason.size() <= kMaxReasonText && printable(view(reason)), "P4 reason out of bounds");
  Bytes out{static_cast<std::uint8_t>(outcome)};
  put_str8(out, iccid);
  put_str8(out, msisdn);
  put_str16(out, reason);
  return out;
}

Result<DoneMsg> DoneMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "Done");
  auto o = r.u8("outcome");
  if (!o) return o.error();
  if (*o > static_cast<std::uint8_t>(PersoOutcome::Refused)) return r.bad("outcome", "must be 0..3");
  auto n = r.u8("iccid length");
  if (!n) return n.error();
  if (*n > kMaxIccidDigits) return r.bad("iccid length", "over 20");
  auto iccid = r.bytes(*n, "iccid");
  if (!iccid) return iccid.error();
  if (!digits(*iccid)) return r.bad("iccid", "digits only");
  auto m = r.u8("msisdn length");
  if (!m) return m.error();
  if (*m > kMaxMsisdn) return r.bad("msisdn length", "over 20");
  auto msisdn = r.bytes(*m, "msisdn");
  if (!msisdn) return msisdn.error();
  if (!msisdn_chars(*msisdn)) return r.bad("msisdn", "digits with an optional leading '+'");
  auto len = r.u16("reason length");
  if (!len) return len.error();
  if (*len > kMaxReasonText) return r.bad("reason length", "over 1024");
  auto reason = r.bytes(*len, "reason");
  if (!reason) return reason.error();
  if (!printable(*reason)) return r.bad("reason", "not printable ASCII");
  if (auto end = r.finish(); !end) return end.error();
  return DoneMsg{static_cast<PersoOutcome>(*o), text(*iccid), text(*msisdn), text(*reason)};
}

Bytes ReceiptMsg::encode() const {
  require(!json.empty() && json.size() <= kMaxReceiptJson && no_nul(view(json)), "Receipt json out of bounds");
  Bytes out;
  put_str16(out, json);
  return out;
}

Result<ReceiptMsg> ReceiptMsg::decode(ByteView plaintext) {
  Reader r(plaintext, "Receipt");
  auto len = r.u16("json length");
  if (!len) return len.error();
  if (*len == 0 || *len > kMaxReceiptJson) return r.bad("json length", "must be 1..8192");
  auto body = r.bytes(*len, "json");
  if (!body) return body.error();
  if (!no_nul(*body)) return r.bad("json", "contains a NUL byte");
  if (auto end = r.finish(); !end) return end.error();
  return ReceiptMsg{text(*body)};
}

}  // namespace cardperso::proto
