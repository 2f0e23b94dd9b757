#include "cardperso/proto/terminal_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cardperso/common/crypto.hpp"
#include "cardperso/common/secret_file.hpp"

namespace cardperso::proto {

namespace {

constexpr std::string_view kSignatureLabel = "cardperso v2 terminal";
constexpr std::size_t kHexDigits = 2 * crypto::kEd25519KeySize;

Bytes signed_message(const TranscriptHash& t3) {
  Bytes m;
  m.reserve(kSignatureLabel.size() + t3.size());
  m.insert(m.end(), kSignatureLabel.begin(), kSignatureLabel.end());
  m.insert(m.end(), t3.begin(), t3.end());
  return m;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits (white space around them allowed) into 32 bytes; false for anything else.
bool decode_hex32(std::string_view text, std::uint8_t* out) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.size() != kHexDigits) return false;
  for (std::size_t i = 0; i < crypto::kEd25519KeySize; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

DeviceSignature sign_transcript(const crypto::Ed25519Signer& device, const TranscriptHash& t3) {
  return device.sign(signed_message(t3));
}

bool transcript_signature_valid(const DeviceKey& device, const TranscriptHash& t3, const DeviceSignature& signature) {
  return crypto::ed25519_verify(device, signed_message(t3), signature);
}

std::string device_key_hex(const DeviceKey& key) { return to_hex(key); }

Result<DeviceKey> parse_device_key(std::string_view text) {
  DeviceKey key{};
  if (!decode_hex32(text, key.data()))
    return fail(Errc::InvalidInput,
                fmt::format("a terminal's public key is {} hex digits (as `ste-firmware --print-device-key` shows it)",
                            kHexDigits));
  return key;
}

Result<DeviceKey> create_device_key_file(const std::string& path) {
  SecretBytes key = crypto::random_secret(crypto::kEd25519KeySize);
  const crypto::Ed25519Signer signer(key);
  // The hex text is written straight into wiped memory: no std::string copy of the key is left behind.
  static constexpr char kHex[] = "0123456789abcdef";
  SecretBytes file_text(kHexDigits + 1);
  for (std::size_t i = 0; i < key.size(); ++i) {
    file_text[2 * i] = static_cast<std::uint8_t>(kHex[key[i] >> 4]);
    file_text[2 * i + 1] = static_cast<std::uint8_t>(kHex[key[i] & 0x0F]);
  }
  file_text[kHexDigits] = '\n';
  if (auto made = create_secret_file(path, file_text); !made) return made.error();
  return signer.public_key();
}

Result<DeviceSigner> load_device_key_file(const std::string& path) {
  auto text = read_secret_file(path, 256);
  if (!text) return text.error();
  SecretBytes key(crypto::kEd25519KeySize);
  const std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  if (!decode_hex32(view, key.data()))
    return fail(Errc::Corrupt, "device key file " + path + " does not hold 64 hex digits; make a new one with "
                               "ste-firmware --init-device-key and enrol it again");
  return std::make_shared<const crypto::Ed25519Signer>(key);
}

}  // namespace cardperso::proto
