#pragma once
// The terminal's own identity (proto/PROTOCOL.md §6.6). Each STE has an Ed25519 device key pair made
// at installation; the issuer enrols its public key for one retailer (`adsctl terminal enrol`). H1
// names the public key, H3 carries the signature of
//   "cardperso v2 terminal" || T3
// and the ADS refuses an unknown, revoked or other retailer's terminal at H1 and a bad signature at
// H3, before the retailer cryptogram is looked at: a stolen retailer card with its PIN on another
// machine gets nothing, and costs the retailer's failure count nothing.
//
// In the emulator the private key is a 0600 file holding 64 hex digits and a newline; on a hardware
// terminal it lives in the terminal's secure element and only the signature leaves it.
#include <memory>
#include <string>
#include <string_view>

#include "cardperso/common/ed25519.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

using DeviceSigner = std::shared_ptr<const crypto::Ed25519Signer>;

DeviceSignature sign_transcript(const crypto::Ed25519Signer& device, const TranscriptHash& t3);
bool transcript_signature_valid(const DeviceKey& device, const TranscriptHash& t3, const DeviceSignature& signature);

// 64 lower-case hex digits, as `adsctl terminal enrol --public-key` takes it.
std::string device_key_hex(const DeviceKey& key);
// Accepts upper or lower case, surrounding white space; says what is wrong.
Result<DeviceKey> parse_device_key(std::string_view text);

// A new random device key in a 0600 file (an existing file is AlreadyExists and stays untouched).
Result<DeviceKey> create_device_key_file(const std::string& path);
Result<DeviceSigner> load_device_key_file(const std::string& path);

}  // namespace cardperso::proto
