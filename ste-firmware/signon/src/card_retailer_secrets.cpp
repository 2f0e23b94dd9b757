#include "cardperso/ste/card_retailer_secrets.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::ste {

namespace {

constexpr std::size_t kBlock = 16;

Error card_refused(const char* what, std::uint16_t sw) {
  switch (sw) {
    case card::sw::kAccessDenied:
      return fail(fmt::format("{}: the retailer card refused (9804): the retailer PIN was not verified", what));
    case card::sw::kInconsistent:
      return fail(fmt::format("{}: the retailer card has no usable key file (9408); the issuer must re-enrol it", what));
    case card::sw::kUnknownIns:
      return fail(fmt::format("{}: the card does not know the command (6D00); it is not a cardperso retailer card", what));
    default: return fail(fmt::format("{}: the retailer card answered {:04X}", what, sw));
  }
}

}  // namespace

Result<card::ApduResponse> CardRetailerSecrets::run(const Bytes& command, const char* what) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = card::exchange_apdu(transmit_, command);
    if (!r) return fail(fmt::format("{}: {}", what, r.error().message));
    if (r->sw != card::sw::kNoEfSelected || attempt == 1) return r;
    for (std::uint16_t fid : {card::kFidMf, card::kFidDfRetailer}) {
      auto selected = card::exchange_apdu(transmit_, card::select_apdu(fid));
      if (!selected) return fail(fmt::format("{}: {}", what, selected.error().message));
      if (selected->sw != card::sw::kOk)
        return fail(fmt::format("{}: SELECT {:04X} answered {:04X}; not a retailer card", what, fid, selected->sw));
    }
  }
  return fail(fmt::format("{}: internal: no answer", what));  // not reached
}

Result<proto::Block16> CardRetailerSecrets::retailer_cryptogram(ByteView rn1) {
  if (rn1.size() != kBlock) return fail("RN1 must be 16 bytes");
  const char* what = "RETAILER CRYPTOGRAM";
  auto r = run(card::retailer_cryptogram_apdu(rn1), what);
  if (!r) return r.error();
  if (r->sw != card::sw::kOk) return card_refused(what, r->sw);
  if (r->data.size() != kBlock)
    return fail(fmt::format("{}: the card sent {} bytes, 16 were expected", what, r->data.size()));
  proto::Block16 out;
  std::copy(r->data.begin(), r->data.end(), out.begin());
  return out;
}

Result<bool> CardRetailerSecrets::issuer_matches(ByteView rn2, ByteView issuer_cryptogram) {
  if (rn2.size() != kBlock || issuer_cryptogram.size() != kBlock) return fail("RN2 and the issuer cryptogram must be 16 bytes");
  const char* what = "CHECK ISSUER";
  auto r = run(card::check_issuer_apdu(rn2, issuer_cryptogram), what);
  if (!r) return r.error();
  if (r->sw == card::sw::kOk) return true;
  if (r->sw == card::sw::kAuthMismatch) return false;
  return card_refused(what, r->sw);
}

Result<SecretBytes> CardRetailerSecrets::session_key_input(proto::SessionKeyRole key, ByteView rn_ads, ByteView rn_ste) {
  if (rn_ads.size() != kBlock || rn_ste.size() != kBlock) return fail("session nonces must be 16 bytes");
  const char* what = key == proto::SessionKeyRole::SkS ? "SESSION KEY INPUT (K_S)" : "SESSION KEY INPUT (K_D)";
  const auto ref = key == proto::SessionKeyRole::SkS ? card::SessionKeyRef::Ks : card::SessionKeyRef::Kd;
  auto r = run(card::session_key_input_apdu(ref, rn_ads, rn_ste), what);
  if (!r) return r.error();
  SecretBytes out{ByteView(r->data)};
  secure_wipe(r->data.data(), r->data.size());
  if (r->sw != card::sw::kOk) return card_refused(what, r->sw);
  if (out.size() != kBlock) return fail(fmt::format("{}: the card sent {} bytes, 16 were expected", what, out.size()));
  return out;
}

}  // namespace cardperso::ste
