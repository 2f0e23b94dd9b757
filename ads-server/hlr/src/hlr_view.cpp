#include "cardperso/ads/hlr/hlr_view.hpp"

#include "cardperso/common/crypto.hpp"

namespace cardperso::ads::hlr {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Result<SecretBytes> key_field(std::string_view name, std::string_view hex_text) {
  auto bytes = from_hex(hex_text);
  if (!bytes || bytes->size() != 16) return fail(Errc::InvalidInput, "the HLR's " + std::string(name) + " is not 16 bytes of hex");
  SecretBytes key(ByteView(bytes->data(), bytes->size()));
  secure_wipe(bytes->data(), bytes->size());
  return key;
}

}  // namespace

Result<HlrSubscriberView> parse_info_all(std::string_view text) {
  HlrSubscriberView view;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    const std::string_view field = line.substr(0, tab), value = line.substr(tab + 1);
    if (field == "imsi") {
      view.imsi = std::string(value);
    } else if (field == "msisdn") {
      view.msisdn = std::string(value);
    } else if (field == "nam_cs") {
      view.cs_enabled = value == "1";
    } else if (field == "nam_ps") {
      view.ps_enabled = value == "1";
    } else if (field == "aud3g.algo") {
      view.aud3g_algo = upper(value);
    } else if (field == "aud3g.k") {
      auto k = key_field("K", value);
      if (!k) return k.error();
      view.k = std::move(k).value();
    } else if (field == "aud3g.opc" || field == "aud3g.op") {
      auto opc = key_field(field == "aud3g.op" ? "OP" : "OPc", value);
      if (!opc) return opc.error();
      view.opc = std::move(opc).value();
      view.op_not_opc = field == "aud3g.op";
    } else if (field == "aud2g.algo") {
      view.aud2g_algo = std::string(value);
    }
  }
  if (view.imsi.empty()) return fail(Errc::InvalidInput, "the HLR's subscriber info has no IMSI");
  return view;
}

std::vector<std::string> compare_with_record(const HlrSubscriberView& hlr, const SubscriberData& record) {
  std::vector<std::string> out;
  if (hlr.imsi != record.imsi) out.push_back("IMSI: HLR " + hlr.imsi + ", record " + record.imsi);
  if (hlr.msisdn != record.msisdn)
    out.push_back("MSISDN: HLR " + (hlr.msisdn.empty() ? std::string("none") : hlr.msisdn) + ", record " + record.msisdn);
  if (!hlr.cs_enabled) out.push_back("CS access disabled in the HLR");
  if (!hlr.ps_enabled) out.push_back("PS access disabled in the HLR");
  if (hlr.aud3g_algo != "MILENAGE") {
    out.push_back("3G auth: HLR " + (hlr.aud3g_algo.empty() ? std::string("none") : hlr.aud3g_algo) +
                  ", record MILENAGE");
  } else {
    if (!crypto::ct_equal(hlr.k.view(), record.k.view())) out.push_back("K differs from the record");
    if (hlr.op_not_opc) out.push_back("the HLR holds OP, the record OPc");
    else if (!crypto::ct_equal(hlr.opc.view(), record.opc.view())) out.push_back("OPc differs from the record");
  }
  if (!hlr.aud2g_algo.empty()) out.push_back("2G auth data present in the HLR (" + hlr.aud2g_algo + "); the ADS provisions none");
  return out;
}

}  // namespace cardperso::ads::hlr
