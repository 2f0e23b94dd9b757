#include "cardperso/proto/pairing.hpp"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_file.hpp"

namespace cardperso::proto {

namespace {

constexpr std::string_view kCodeLabel = "cardperso pairing code";
constexpr std::string_view kL1Label = "cardperso v2 L1";
constexpr std::size_t kCodeDigits = 2 * (kPairingKeySize + 2);  // key and check, in hex

ByteView label(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::array<std::uint8_t, 2> check_of(ByteView key) {
  Bytes data(kCodeLabel.begin(), kCodeLabel.end());
  data.insert(data.end(), key.begin(), key.end());
  const auto digest = crypto::sha256(data);
  secure_wipe(data.data(), data.size());
  return {digest[0], digest[1]};
}

SecretBytes l1_key(const SecretBytes& pairing_key, const TranscriptHash& t4) {
  if (pairing_key.size() != kPairingKeySize) throw std::invalid_argument("the pairing key is 16 bytes");
  return crypto::hkdf_sha256(t4, pairing_key.view(), label(kL1Label), crypto::kAesKeySize);
}

Bytes aad_of(const FrameHeader& header) { return encode_header(header); }

const Bytes kZeroNonce(crypto::kGcmNonceSize, 0);

}  // namespace

std::string pairing_code(const SecretBytes& key) {
  if (key.size() != kPairingKeySize) throw std::invalid_argument("the pairing key is 16 bytes");
  SecretBytes all(kPairingKeySize + 2);
  std::copy(key.view().begin(), key.view().end(), all.data());
  const auto check = check_of(key.view());
  all[kPairingKeySize] = check[0];
  all[kPairingKeySize + 1] = check[1];
  std::string code;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && i % 2 == 0) code += '-';
    code += kHex[all[i] >> 4];
    code += kHex[all[i] & 0x0F];
  }
  return code;
}

Result<SecretBytes> parse_pairing_code(std::string_view code) {
  SecretBytes all(kPairingKeySize + 2);
  std::size_t digits = 0;
  for (char c : code) {
    if (c == '-' || c == ' ' || c == '\n' || c == '\r') continue;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                              : -1;
    if (v < 0) return fail(Errc::InvalidInput, "the pairing code holds a character that is not a hex digit, '-' or a space");
    if (digits >= kCodeDigits) return fail(Errc::InvalidInput, fmt::format("the pairing code has more than {} hex digits", kCodeDigits));
    all[digits / 2] = static_cast<std::uint8_t>(digits % 2 == 0 ? v << 4 : all[digits / 2] | v);
    ++digits;
  }
  if (digits != kCodeDigits)
    return fail(Errc::InvalidInput, fmt::format("the pairing code has {} hex digits, not {}; type all nine groups", digits, kCodeDigits));
  SecretBytes key(all.view().first(kPairingKeySize));
  const auto check = check_of(key.view());
  if (check[0] != all[kPairingKeySize] || check[1] != all[kPairingKeySize + 1])
    return fail(Errc::InvalidInput, "the pairing code's last group does not match the rest: a digit was mistyped; type it again");
  return key;
}

Result<void> create_pairing_file(const std::string& path, const SecretBytes& key) {
  const std::string code = pairing_code(key) + "\n";
  SecretBytes text(label(code));
  return create_secret_file(path, text);
}

Result<SecretBytes> load_pairing_file(const std::string& path) {
  auto text = read_secret_file(path, 128);
  if (!text) return text.error();
  auto key = parse_pairing_code(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!key) return fail(Errc::Corrupt, "the pairing file " + path + " is damaged (" + key.error().message + "); pair again");
  return key;
}

Bytes seal_sk_d(const SecretBytes& pairing_key, const FrameHeader& header, const TranscriptHash& t4,
                const SecretBytes& sk_d) {
  if (sk_d.size() != 16) throw std::invalid_argument("SK_D is 16 bytes");
  const SecretBytes key = l1_key(pairing_key, t4);
  return crypto::aes128_gcm_seal(key.view(), kZeroNonce, aad_of(header), sk_d.view());
}

Result<SecretBytes> open_sk_d(const SecretBytes& pairing_key, const FrameHeader& header, const TranscriptHash& t4,
                              ByteView sealed) {
  if (sealed.size() != kSealedSkDSize) return fail(Errc::InvalidInput, "the sealed SK_D is not 32 bytes");
  const SecretBytes key = l1_key(pairing_key, t4);
  auto plain = crypto::aes128_gcm_open(key.view(), kZeroNonce, aad_of(header), sealed);
  if (!plain)
    return fail(Errc::InvalidInput,
                "the SK_D handover does not open under this DTD's pairing key: the terminal is paired with another "
                "DTD (pair them again) or the frame was altered");
  SecretBytes out{ByteView(*plain)};
  secure_wipe(plain->data(), plain->size());
  return out;
}

}  // namespace cardperso::proto
