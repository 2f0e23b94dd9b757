#pragma once
// The ADS master key (16 bytes) and the sealing of secret columns under it.
//
// Key file: 32 hex digits (what `adsctl init` writes) or 16 raw bytes, owner-only (mode 0600); a file
// readable by group or others is refused. Each use gets its own subkey, HMAC-SHA-256(master, label),
// so the sealing key and the audit-chain key are independent.
//
// Sealed blob: version (0x01) || nonce (12 random bytes) || AES-128-GCM ciphertext || tag (16).
// Associated data binds the blob to its place: version || column || 0x00 || row key (e.g.
// "retailers.keys" and the serial), so a blob copied to another row or edited does not open.
#include <string>
#include <string_view>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

class MasterKey {
 public:
  static constexpr std::size_t kSize = 16;

  // Creates the file with O_CREAT|O_EXCL and mode 0600 (never overwrites), writes a fresh random key.
  static Result<MasterKey> create_file(const std::string& path);
  static Result<MasterKey> load_file(const std::string& path);
  // For tests and tools that already hold the bytes; a wrong size is a programmer error (throws).
  static MasterKey from_bytes(ByteView key);

  // HMAC-SHA-256(master, label), truncated to `size` (at most 32).
  SecretBytes derive(std::string_view label, std::size_t size) const;

 private:
  explicit MasterKey(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

inline constexpr std::uint8_t kSealVersion = 0x01;

Bytes seal_column(const MasterKey& key, std::string_view column, std::string_view row, ByteView plaintext);
// Fails (without saying why, as GCM does) when the blob was edited, moved, or sealed under another key.
Result<SecretBytes> open_column(const MasterKey& key, std::string_view column, std::string_view row, ByteView blob);

}  // namespace cardperso::ads
