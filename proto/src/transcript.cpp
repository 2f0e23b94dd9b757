#include "cardperso/proto/transcript.hpp"

#include <algorithm>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::proto {

namespace {
constexpr std::string_view kTranscriptLabel = "cardperso v2 transcript";

void item(Bytes& out, std::uint8_t tag, ByteView value) {
  if (value.size() > 0xffff) throw std::invalid_argument("transcript item longer than 65535 bytes");
  out.push_back(tag);
  put_u16(out, static_cast<std::uint16_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

// Items 1 to 3: what both sides know once H2 is through.
Bytes encode_h2(const TranscriptInputs& in) {
  Bytes out(kTranscriptLabel.begin(), kTranscriptLabel.end());
  Bytes session;
  put_u32(session, in.session);
  item(out, 1, in.h1_payload);
  item(out, 2, session);
  item(out, 3, in.h2_payload);
  return out;
}

Bytes encode_common(const TranscriptInputs& in) {
  Bytes out = encode_h2(in);
  item(out, 4, in.retailer_cryptogram);
  return out;
}
}  // namespace

TranscriptHash transcript_h2(const TranscriptInputs& in) { return crypto::sha256(encode_h2(in)); }
TranscriptHash transcript_h3(const TranscriptInputs& in) { return crypto::sha256(encode_common(in)); }

TranscriptHash transcript_h4(const TranscriptInputs& in, ByteView issuer_cryptogram) {
  Bytes out = encode_common(in);
  item(out, 5, issuer_cryptogram);
  return crypto::sha256(out);
}

std::string_view confirmation_label(ConfirmedKey key, Confirmer by) {
  if (key == ConfirmedKey::SkS)
    return by == Confirmer::Ste ? "cardperso v2 confirm SK_S by STE" : "cardperso v2 confirm SK_S by ADS";
  return by == Confirmer::Ste ? "cardperso v2 confirm SK_D by STE" : "cardperso v2 confirm SK_D by ADS";
}

Block16 key_confirmation(const SecretBytes& session_key, ConfirmedKey key, Confirmer by, const TranscriptHash& th) {
  if (session_key.size() != 16) throw std::invalid_argument("key confirmation needs a 16-byte session key");
  const auto label = confirmation_label(key, by);
  Bytes data(label.begin(), label.end());
  data.insert(data.end(), th.begin(), th.end());
  auto mac = crypto::hmac_sha256(session_key.view(), data);
  Block16 out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

}  // namespace cardperso::proto
