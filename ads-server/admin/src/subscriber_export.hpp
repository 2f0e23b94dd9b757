#pragma once
// The subscriber export (`adsctl export subscribers`, docs/operations.md "Exporting subscribers to an
// AuC"): a CSV file an operator without a live HLR link loads into its AuC.
//
//   # cardperso subscriber export v1
//   # keys: aes-256-gcm kcv=XXXXXX          (or "# keys: CLEAR")
//   # records: N
//   # created: 2024-05-01 12:00:00Z
//   iccid,imsi,msisdn,algorithm,ki,opc
//   8988211000000000011,001010000000001,41790000001,milenage,<ki>,<opc>
//
// Sealed, each of ki and opc is hex(nonce (12 random bytes) || AES-256-GCM ciphertext (16) || tag (16)),
// 88 hex digits, under the transport key, with associated data
//   "cardperso-export-v1" 0x00 field ("ki" or "opc") 0x00 iccid 0x00 imsi
// so a value moved to another line or column does not open. In clear (--clear-keys) they are 32 hex
// digits each.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "cardperso/ads/store/clock.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX

namespace cardperso::adsctl {

// Every profile the issuer writes authenticates with Milenage, with the GSM conversion for SIMs.
inline constexpr std::string_view kExportAlgorithm = "milenage";
inline constexpr std::string_view kExportFormat = "cardperso-export-v1";
inline constexpr std::string_view kExportColumns = "iccid,imsi,msisdn,algorithm,ki,opc";

// The associated data that binds a sealed field to its column and its line.
Bytes export_field_aad(std::string_view field, std::string_view iccid, std::string_view imsi);

struct SubscriberLine {
  std::string_view iccid, imsi, msisdn;
  const SecretBytes& ki;
  const SecretBytes& opc;
};

// Formats the file: seals each line's Ki and OPc under the transport key, or writes them in clear.
class SubscriberExport {
 public:
  // The key (32 bytes) is copied into OpenSSL's cipher context, which wipes it when freed.
  static SubscriberExport sealed(const SecretBytes& transport_key);
  static SubscriberExport clear();
  ~SubscriberExport();
  SubscriberExport(SubscriberExport&& other) noexcept;
  SubscriberExport& operator=(SubscriberExport&&) = delete;
  SubscriberExport(const SubscriberExport&) = delete;
  SubscriberExport& operator=(const SubscriberExport&) = delete;

  bool keys_in_clear() const { return ctx_ == nullptr; }
  // The transport key's KCV; empty in clear.
  const std::string& kcv() const { return kcv_; }

  // The comment lines and the column header.
  std::string preamble(std::size_t records, ads::Seconds created) const;
  // One line with its newline. In clear it holds Ki and OPc: the caller wipes it (secure_wipe) after use.
  // Refuses a value that would break the CSV (a comma, quote, line break or NUL).
  Result<std::string> line(const SubscriberLine& subscriber);

 private:
  SubscriberExport(::evp_cipher_ctx_st* ctx, std::string kcv) : ctx_(ctx), kcv_(std::move(kcv)) {}
  void append_sealed(std::string& out, std::string_view field, const SubscriberLine& subscriber, ByteView plain);

  ::evp_cipher_ctx_st* ctx_ = nullptr;  // AES-256-GCM with the transport key set; nullptr: clear
  std::string kcv_;
};

// The export's file: written to a temporary file beside its destination (mode 0600), flushed to disk,
// then given its name only if nothing has that name yet. Removed unless published; what it buffers is
// wiped.
class ExportFile {
 public:
  // Refuses (AlreadyExists) when path exists already.
  static Result<ExportFile> create(const std::string& path);
  ~ExportFile();
  ExportFile(ExportFile&& other) noexcept;
  ExportFile& operator=(ExportFile&&) = delete;
  ExportFile(const ExportFile&) = delete;
  ExportFile& operator=(const ExportFile&) = delete;

  Result<void> write(std::string_view text);
  // Writes what is buffered, fsyncs and closes the temporary file.
  Result<void> finish();
  // Renames the finished file to its name (never over an existing file) and syncs the directory.
  Result<void> publish();

 private:
  ExportFile(std::string path, std::string temp, int fd);
  Result<void> flush();
  Result<void> write_all(std::string_view text);

  std::string path_, temp_;
  int fd_ = -1;
  bool published_ = false;
  std::string buffer_;  // reserved once and never grown, so no unwiped copy of its content is left behind
};

}  // namespace cardperso::adsctl
