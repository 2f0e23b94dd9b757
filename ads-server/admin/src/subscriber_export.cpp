#include "subscriber_export.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"
#include "command_line.hpp"
#include "transport_key_file.hpp"

namespace cardperso::adsctl {

namespace {

constexpr char kLowerDigits[] = "0123456789abcdef";
// A line is at most ~300 characters; the buffer holds a few hundred of them between writes.
constexpr std::size_t kBufferSize = 64 * 1024;

void append_hex(std::string& out, ByteView data) {
  for (const std::uint8_t b : data) {
    out.push_back(kLowerDigits[b >> 4]);
    out.push_back(kLowerDigits[b & 0x0F]);
  }
}

bool csv_safe(std::string_view value) {
  return !value.empty() && value.find_first_of(std::string_view(",\"\r\n\0", 5)) == std::string_view::npos;
}

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string already_exists(const std::string& path) {
  return path + " already exists; refusing to overwrite it: choose another --out, or move the old export away";
}

// rename(2) that never replaces: RENAME_NOREPLACE, or link + unlink where the file system lacks it.
Result<void> rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno == EEXIST) return fail(Errc::AlreadyExists, already_exists(to));
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    return fail("cannot rename " + from + " to " + to + ": " + errno_text());
  }
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return fail(Errc::AlreadyExists, already_exists(to));
    return fail("cannot rename " + from + " to " + to + ": " + errno_text());
  }
  ::unlink(from.c_str());
  return {};
}

}  // namespace

Bytes export_field_aad(std::string_view field, std::string_view iccid, std::string_view imsi) {
  Bytes aad;
  for (const std::string_view part : {kExportFormat, field, iccid, imsi}) {
    if (!aad.empty()) aad.push_back(0x00);
    aad.insert(aad.end(), part.begin(), part.end());
  }
  return aad;
}

// ---- SubscriberExport ------------------------------------------------------------------------------

SubscriberExport SubscriberExport::sealed(const SecretBytes& transport_key) {
  if (transport_key.size() != kTransportKeySize) throw std::invalid_argument("the transport key must be 32 bytes");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, transport_key.data(), nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw std::runtime_error("AES-256-GCM initialisation failed in OpenSSL");
  }
  return SubscriberExport(ctx, key_check_value(transport_key));
}

SubscriberExport SubscriberExport::clear() { return SubscriberExport(nullptr, {}); }

SubscriberExport::~SubscriberExport() { EVP_CIPHER_CTX_free(ctx_); }

SubscriberExport::SubscriberExport(SubscriberExport&& other) noexcept
    : ctx_(other.ctx_), kcv_(std::move(other.kcv_)) {
  other.ctx_ = nullptr;
}

std::string SubscriberExport::preamble(std::size_t records, ads::Seconds created) const {
  return "# cardperso subscriber export v1\n"
         "# keys: " + (keys_in_clear() ? std::string("CLEAR") : "aes-256-gcm kcv=" + kcv_) + "\n"
         "# records: " + std::to_string(records) + "\n"
         "# created: " + format_time(created) + "\n" +
         std::string(kExportColumns) + "\n";
}

Result<std::string> SubscriberExport::line(const SubscriberLine& s) {
  if (!csv_safe(s.iccid) || !csv_safe(s.imsi) || !csv_safe(s.msisdn)) {
    return fail(Errc::Corrupt, "card " + std::string(s.iccid.substr(0, 24)) +
                                   ": its ICCID, IMSI or MSISDN is empty or holds a comma, quote, line break or NUL; "
                                   "check the record with `adsctl card show`");
  }
  if (s.ki.size() != crypto::kAesKeySize || s.opc.size() != crypto::kAesKeySize) {
    return fail(Errc::Corrupt, "card " + std::string(s.iccid) + ": its Ki or OPc is not 16 bytes");
  }
  std::string out;
  // Reserved up front so that the string never reallocates and leaves an unwiped copy of a clear key.
  out.reserve(s.iccid.size() + s.imsi.size() + s.msisdn.size() + kExportAlgorithm.size() + 2 * 88 + 8);
  for (const std::string_view part : {s.iccid, s.imsi, s.msisdn, kExportAlgorithm}) {
    out.append(part);
    out.push_back(',');
  }
  if (keys_in_clear()) {
    append_hex(out, s.ki.view());
    out.push_back(',');
    append_hex(out, s.opc.view());
  } else {
    append_sealed(out, "ki", s, s.ki.view());
    out.push_back(',');
    append_sealed(out, "opc", s, s.opc.view());
  }
  out.push_back('\n');
  return out;
}

void SubscriberExport::append_sealed(std::string& out, std::string_view field, const SubscriberLine& s,
                                     ByteView plain) {
  std::array<std::uint8_t, crypto::kGcmNonceSize + crypto::kAesKeySize + crypto::kGcmTagSize> sealed{};
  crypto::random_bytes(std::span(sealed).first(crypto::kGcmNonceSize));
  const Bytes aad = export_field_aad(field, s.iccid, s.imsi);
  std::uint8_t* const ciphertext = sealed.data() + crypto::kGcmNonceSize;
  int len = 0;
  int final_len = 0;
  // The key stays in the context; each field only sets its own nonce.
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, sealed.data()) != 1 ||
      EVP_EncryptUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx_, ciphertext, &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
      len != static_cast<int>(plain.size()) || EVP_EncryptFinal_ex(ctx_, ciphertext + len, &final_len) != 1 ||
      final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, static_cast<int>(crypto::kGcmTagSize),
                          ciphertext + plain.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed in OpenSSL");
  append_hex(out, sealed);
}

// ---- ExportFile ------------------------------------------------------------------------------------

ExportFile::ExportFile(std::string path, std::string temp, int fd)
    : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {
  buffer_.reserve(kBufferSize);
}

ExportFile::ExportFile(ExportFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_(std::move(other.temp_)),
      fd_(other.fd_),
      published_(other.published_),
      buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
  other.published_ = true;  // the moved-from object owns no file any more
}

ExportFile::~ExportFile() {
  OPENSSL_cleanse(buffer_.data(), buffer_.size());
  if (fd_ >= 0) ::close(fd_);
  if (!published_) ::unlink(temp_.c_str());
}

Result<ExportFile> ExportFile::create(const std::string& path) {
  if (exists(path)) return fail(Errc::AlreadyExists, already_exists(path));
  std::string pattern = directory_of(path) + "/." + base_name(path) + ".tmp-XXXXXX";
  const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return fail("cannot create a temporary file beside " + path + ": " + errno_text());
  if (::fchmod(fd, 0600) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(pattern.c_str());
    return fail("cannot set mode 0600 on " + pattern + ": " + why);
  }
  return ExportFile(path, pattern, fd);
}

Result<void> ExportFile::write(std::string_view text) {
  if (buffer_.size() + text.size() > buffer_.capacity()) {
    if (auto flushed = flush(); !flushed) return flushed;
  }
  if (text.size() > buffer_.capacity()) return write_all(text);
  buffer_.append(text);
  return {};
}

Result<void> ExportFile::flush() {
  if (auto written = write_all(buffer_); !written) return written;
  OPENSSL_cleanse(buffer_.data(), buffer_.size());
  buffer_.clear();
  return {};
}

Result<void> ExportFile::write_all(std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write " + temp_ + ": " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<void> ExportFile::finish() {
  if (auto flushed = flush(); !flushed) return flushed;
  if (::fsync(fd_) != 0) return fail("cannot flush " + temp_ + " to disk: " + errno_text());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return fail("cannot write " + temp_ + ": " + errno_text());
  return {};
}

Result<void> ExportFile::publish() {
  if (auto renamed = rename_no_replace(temp_, path_); !renamed) return renamed;
  published_ = true;
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace cardperso::adsctl
