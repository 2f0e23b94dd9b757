#pragma once
// The STE and its DTD are paired once per installation (proto/PROTOCOL.md §6.5): the terminal makes a
// random 16-byte pairing key and shows it as a code, the retailer types the code at the shop PC, and
// both keep the key in a 0600 file. L1 then carries SK_D sealed under a key derived from the pairing
// key and the session's transcript T4, so the local link never carries a key in clear and a recorded
// or replayed L1 opens nowhere but at that DTD, for that handshake only.
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

inline constexpr std::size_t kPairingKeySize = 16;
inline constexpr std::size_t kSealedSkDSize = 16 + 16;  // ciphertext || GCM tag

// The code shown and typed: the key as eight groups of four hex digits, then a ninth group, a check
// (the first two bytes of SHA-256("cardperso pairing code" || key)) so that a typo is caught before
// anything is stored. 128 bits: nobody guesses it, offline or online.
std::string pairing_code(const SecretBytes& key);
// Accepts the code with or without dashes or spaces, in either case. Says what is wrong (length,
// a character, the check group) without echoing the code.
Result<SecretBytes> parse_pairing_code(std::string_view code);

// The pairing file holds the code and a newline.
Result<void> create_pairing_file(const std::string& path, const SecretBytes& key);
Result<SecretBytes> load_pairing_file(const std::string& path);

// L1's sealed SK_D: AES-128-GCM under HKDF-SHA-256(salt = T4, IKM = pairing key, info =
// "cardperso v2 L1", 16), nonce twelve zero bytes (the key is new with every T4), associated data
// the L1 frame header (length and session id included).
Bytes seal_sk_d(const SecretBytes& pairing_key, const FrameHeader& header, const TranscriptHash& t4,
                const SecretBytes& sk_d);
Result<SecretBytes> open_sk_d(const SecretBytes& pairing_key, const FrameHeader& header, const TranscriptHash& t4,
                              ByteView sealed);

}  // namespace cardperso::proto
