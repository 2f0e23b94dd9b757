#include "cardperso/testing/gsup_codec.hpp"

#include <algorithm>

namespace cardperso::testing::gsup {

namespace {

constexpr std::size_t kIpaHeaderSize = 3;
// osmo-hlr keeps an identity entry's length in a u8 that also counts the tag and the NUL.
constexpr std::size_t kMaxIdentityValue = 253;

void put_tlv(Bytes& out, std::uint8_t tag, ByteView value) {
  out.push_back(tag);
  out.push_back(static_cast<std::uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

Result<void> put_identity(Bytes& out, std::uint8_t tag, const std::string& value, const char* what) {
  if (value.empty() || value.size() > kMaxIdentityValue || value.find('\0') != std::string::npos)
    return fail(Errc::InvalidInput, std::string("IPA identity ") + what + " must be 1 to " +
                                        std::to_string(kMaxIdentityValue) + " characters without NUL");
  put_u16(out, static_cast<std::uint16_t>(1 + value.size() + 1));
  out.push_back(tag);
  out.insert(out.end(), value.begin(), value.end());
  out.push_back(0);
  return {};
}

// One tag-length-value element of a GSUP message (u8 length), bounded by what is left.
struct Tlv {
  std::uint8_t tag = 0;
  ByteView value;
};

Result<Tlv> next_tlv(ByteView& rest) {
  if (rest.size() < 2) return fail(Errc::Corrupt, "GSUP IE truncated: " + std::to_string(rest.size()) + " byte left");
  const std::size_t len = rest[1];
  if (rest.size() - 2 < len)
    return fail(Errc::Corrupt, "GSUP IE 0x" + to_hex(rest.subspan(0, 1)) + " announces " + std::to_string(len) +
                                   " bytes but only " + std::to_string(rest.size() - 2) + " follow");
  Tlv tlv{rest[0], rest.subspan(2, len)};
  rest = rest.subspan(2 + len);
  return tlv;
}

Result<void> store(Bytes& field, const Tlv& tlv, std::size_t min_size, std::size_t max_size, const char* name) {
  if (tlv.value.size() < min_size || tlv.value.size() > max_size)
    return fail(Errc::Corrupt, std::string("GSUP ") + name + " of " + std::to_string(tlv.value.size()) +
                                   " bytes (expected " + std::to_string(min_size) +
                                   (max_size == min_size ? "" : ".." + std::to_string(max_size)) + ")");
  field.assign(tlv.value.begin(), tlv.value.end());
  return {};
}

Result<AuthTuple> decode_auth_tuple(ByteView rest) {
  AuthTuple t;
  while (!rest.empty()) {
    auto tlv = next_tlv(rest);
    if (!tlv) return tlv.error();
    Result<void> stored;
    switch (tlv->tag) {
      case kIeRand: stored = store(t.rand, *tlv, 16, 16, "RAND"); break;
      case kIeSres: stored = store(t.sres, *tlv, 4, 4, "SRES"); break;
      case kIeKc: stored = store(t.kc, *tlv, 8, 8, "Kc"); break;
      case kIeIk: stored = store(t.ik, *tlv, 16, 16, "IK"); break;
      case kIeCk: stored = store(t.ck, *tlv, 16, 16, "CK"); break;
      case kIeAutn: stored = store(t.autn, *tlv, 16, 16, "AUTN"); break;
      case kIeRes: stored = store(t.res, *tlv, 4, 16, "RES"); break;
      default: break;  // a newer HLR may add IEs: not ours to judge
    }
    if (!stored) return stored.error();
  }
  if (t.rand.empty()) return fail(Errc::Corrupt, "GSUP auth tuple without RAND");
  return t;
}

}  // namespace

Bytes encode_ipa_frame(std::uint8_t protocol, ByteView payload) {
  Bytes out;
  out.reserve(kIpaHeaderSize + payload.size());
  put_u16(out, static_cast<std::uint16_t>(payload.size()));
  out.push_back(protocol);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<std::optional<IpaFrame>> take_ipa_frame(Bytes& buffer, std::size_t max_payload) {
  if (buffer.size() < kIpaHeaderSize) return std::optional<IpaFrame>();
  const std::size_t len = get_u16(buffer, 0);
  if (len > max_payload)
    return fail(Errc::Corrupt, "IPA frame announces " + std::to_string(len) + " bytes, more than the " +
                                   std::to_string(max_payload) +
                                   " accepted (not an IPA peer, or a lost frame boundary)");
  if (buffer.size() < kIpaHeaderSize + len) return std::optional<IpaFrame>();
  const auto end = buffer.begin() + static_cast<long>(kIpaHeaderSize + len);
  IpaFrame frame{buffer[2], Bytes(buffer.begin() + kIpaHeaderSize, end)};
  buffer.erase(buffer.begin(), end);
  return std::optional<IpaFrame>(std::move(frame));
}

Result<Bytes> encode_ccm_id_resp(const std::string& unit, const std::string& serial_number) {
  Bytes payload{kCcmIdResp};
  if (auto r = put_identity(payload, kIdTagUnit, unit, "unit"); !r) return r.error();
  if (auto r = put_identity(payload, kIdTagSerialNumber, serial_number, "serial number"); !r) return r.error();
  return encode_ipa_frame(kIpaProtoCcm, payload);
}

Bytes encode_ccm_pong() {
  const Bytes payload{kCcmPong};
  return encode_ipa_frame(kIpaProtoCcm, payload);
}

Result<Bytes> encode_imsi_tbcd(const std::string& imsi) {
  const bool digits = std::all_of(imsi.begin(), imsi.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || imsi.size() < 6 || imsi.size() > 15)
    return fail(Errc::InvalidInput, "IMSI '" + imsi + "' is not 6 to 15 decimal digits");
  Bytes out((imsi.size() + 1) / 2, 0);
  for (std::size_t i = 0; i < imsi.size(); ++i) {
    const auto digit = static_cast<std::uint8_t>(imsi[i] - '0');
    out[i / 2] |= static_cast<std::uint8_t>(i % 2 == 0 ? digit : digit << 4);
  }
  if (imsi.size() % 2 == 1) out.back() |= 0xF0;
  return out;
}

Result<std::string> decode_imsi_tbcd(ByteView tbcd) {
  std::string imsi;
  for (std::size_t i = 0; i < tbcd.size() * 2; ++i) {
    const std::uint8_t nibble = (i % 2 == 0) ? (tbcd[i / 2] & 0x0F) : (tbcd[i / 2] >> 4);
    if (nibble == 0x0F && i == tbcd.size() * 2 - 1) break;  // the filler of an odd count
    if (nibble > 9) return fail(Errc::Corrupt, "GSUP IMSI " + to_hex(tbcd) + " holds a non-digit nibble");
    imsi.push_back(static_cast<char>('0' + nibble));
  }
  if (imsi.size() < 6 || imsi.size() > 15)
    return fail(Errc::Corrupt, "GSUP IMSI " + to_hex(tbcd) + " is not 6 to 15 digits");
  return imsi;
}

Result<Bytes> encode_send_auth_info_request(const std::string& imsi, int num_vectors) {
  if (num_vectors < 0 || num_vectors > static_cast<int>(kMaxAuthTuples))
    return fail(Errc::InvalidInput, "number of vectors " + std::to_string(num_vectors) + " is not 0 to 5");
  auto tbcd = encode_imsi_tbcd(imsi);
  if (!tbcd) return tbcd.error();
  Bytes out{kSendAuthInfoRequest};
  put_tlv(out, kIeImsi, *tbcd);
  if (num_vectors > 0) {
    const Bytes count{static_cast<std::uint8_t>(num_vectors)};
    put_tlv(out, kIeNumVectorsRequested, count);
  }
  return out;
}

Bytes encode_gsup_frame(ByteView gsup_message) {
  Bytes payload{kIpaExtGsup};
  payload.insert(payload.end(), gsup_message.begin(), gsup_message.end());
  return encode_ipa_frame(kIpaProtoOsmo, payload);
}

Result<GsupAnswer> decode_gsup_message(ByteView message) {
  if (message.empty()) return fail(Errc::Corrupt, "empty GSUP message");
  GsupAnswer answer;
  answer.message_type = message[0];
  ByteView rest = message.subspan(1);
  // libosmocore requires the IMSI first; so do we, which keeps an answer tied to its request.
  auto first = next_tlv(rest);
  if (!first) return first.error();
  if (first->tag != kIeImsi)
    return fail(Errc::Corrupt, "GSUP message 0x" + to_hex(message.subspan(0, 1)) + " does not start with the IMSI IE");
  auto imsi = decode_imsi_tbcd(first->value);
  if (!imsi) return imsi.error();
  answer.imsi = std::move(*imsi);
  while (!rest.empty()) {
    auto tlv = next_tlv(rest);
    if (!tlv) return tlv.error();
    if (tlv->tag == kIeCause) {
      if (tlv->value.size() != 1)
        return fail(Errc::Corrupt, "GSUP cause IE of " + std::to_string(tlv->value.size()) + " bytes (expected 1)");
      answer.cause = tlv->value[0];
    } else if (tlv->tag == kIeAuthTuple) {
      if (answer.tuples.size() == kMaxAuthTuples)
        return fail(Errc::Corrupt, "GSUP message carries more than " + std::to_string(kMaxAuthTuples) + " auth tuples");
      auto tuple = decode_auth_tuple(tlv->value);
      if (!tuple) return tuple.error();
      answer.tuples.push_back(std::move(*tuple));
    }
  }
  return answer;
}

std::string gmm_cause_name(std::uint8_t cause) {
  switch (cause) {
    case 0x02: return "IMSI unknown in HLR";
    case 0x03: return "illegal MS";
    case 0x06: return "illegal ME";
    case 0x07: return "GPRS services not allowed";
    case 0x08: return "GPRS and non-GPRS services not allowed";
    case 0x0b: return "PLMN not allowed";
    case 0x0d: return "roaming not allowed";
    case 0x11: return "network failure";
    case 0x60: return "invalid mandatory information";
    case 0x61: return "message type non-existent or not implemented";
    case 0x63: return "IE non-existent or not implemented";
    case 0x64: return "conditional IE error";
    case 0x6f: return "protocol error, unspecified";
    default: return "cause " + std::to_string(cause);
  }
}

}  // namespace cardperso::testing::gsup
