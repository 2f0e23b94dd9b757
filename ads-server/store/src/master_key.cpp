#include "cardperso/ads/store/master_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::ads {

namespace {

constexpr std::size_t kMaxKeyFileSize = 256;  // hex with whitespace fits easily; anything bigger is wrong
constexpr std::string_view kSealLabel = "cardperso/v1/ads-column-seal";

std::string errno_text() { return std::strerror(errno); }

Result<void> write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_text());
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

void sync_parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

MasterKey MasterKey::from_bytes(ByteView key) {
  if (key.size() != kSize) throw std::invalid_argument("MasterKey::from_bytes: key must be 16 bytes");
  return MasterKey(SecretBytes(key));
}

Result<MasterKey> MasterKey::create_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return fail(Errc::AlreadyExists, "master key file " + path + " already exists; refusing to overwrite it");
    return fail("cannot create master key file " + path + ": " + errno_text());
  }
  SecretBytes key = crypto::random_secret(kSize);
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes text(2 * kSize + 1);
  for (std::size_t i = 0; i < kSize; ++i) {
    text[2 * i] = static_cast<std::uint8_t>(kDigits[key[i] >> 4]);
    text[2 * i + 1] = static_cast<std::uint8_t>(kDigits[key[i] & 0x0F]);
  }
  text[2 * kSize] = '\n';
  auto written = write_all(fd, text.data(), text.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) {
    ::unlink(path.c_str());
    return fail("cannot write master key file " + path + ": " + (written ? errno_text() : written.error().message));
  }
  sync_parent_dir(path);
  return MasterKey(std::move(key));
}

Result<MasterKey> MasterKey::load_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail("master key file " + path + " not found; pass --master-key or run `adsctl init`");
    return fail("cannot open master key file " + path + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return fail("cannot stat master key file " + path + ": " + why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("master key file " + path + " is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return fail("master key file " + path + " is accessible by group or others (mode " + mode_text(st.st_mode) +
                "); run `chmod 600 " + path + "` and check who may have read it");
  }
  SecretBytes content(kMaxKeyFileSize + 1);
  std::size_t size = 0;
  while (size < content.size()) {
    const ssize_t n = ::read(fd, content.data() + size, content.size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      ::close(fd);
      return fail("cannot read master key file " + path + ": " + why);
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);

  const std::string wrong_size = "master key file " + path + " holds " + std::to_string(size) +
                                 " bytes; expected 16 raw bytes or 32 hex digits: restore the right file";
  if (size == kSize) return MasterKey(SecretBytes(ByteView(content.data(), kSize)));
  if (size > kMaxKeyFileSize) return fail("master key file " + path + " is too large; expected 16 raw bytes or 32 hex digits");

  // Hex, with surrounding whitespace allowed (an editor's trailing newline).
  SecretBytes key(kSize);
  std::size_t digits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const int c = content[i];
    if (std::isspace(c) != 0) continue;
    if (std::isxdigit(c) == 0) return fail(wrong_size);
    if (digits >= 2 * kSize) return fail(wrong_size);
    const int v = std::isdigit(c) != 0 ? c - '0' : (std::tolower(c) - 'a' + 10);
    key[digits / 2] = static_cast<std::uint8_t>(digits % 2 == 0 ? v << 4 : key[digits / 2] | v);
    ++digits;
  }
  if (digits != 2 * kSize) return fail(wrong_size);
  return MasterKey(std::move(key));
}

SecretBytes MasterKey::derive(std::string_view label, std::size_t size) const {
  if (size > 32) throw std::invalid_argument("MasterKey::derive: at most 32 bytes");
  auto mac = crypto::hmac_sha256(key_.view(), ByteView(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
  SecretBytes out(ByteView(mac.data(), size));
  secure_wipe(mac.data(), mac.size());
  return out;
}

namespace {

Bytes seal_aad(std::string_view column, std::string_view row) {
  Bytes aad;
  aad.push_back(kSealVersion);
  aad.insert(aad.end(), column.begin(), column.end());
  aad.push_back(0x00);
  aad.insert(aad.end(), row.begin(), row.end());
  return aad;
}

}  // namespace

Bytes seal_column(const MasterKey& key, std::string_view column, std::string_view row, ByteView plaintext) {
  const SecretBytes seal_key = key.derive(kSealLabel, crypto::kAesKeySize);
  const Bytes nonce = crypto::random_bytes(crypto::kGcmNonceSize);
  const Bytes sealed = crypto::aes128_gcm_seal(seal_key.view(), nonce, seal_aad(column, row), plaintext);
  return concat({ByteView(&kSealVersion, 1), nonce, sealed});
}

Result<SecretBytes> open_column(const MasterKey& key, std::string_view column, std::string_view row, ByteView blob) {
  if (blob.size() < 1 + crypto::kGcmNonceSize + crypto::kGcmTagSize || blob[0] != kSealVersion) {
    return fail("sealed value is malformed");
  }
  const SecretBytes seal_key = key.derive(kSealLabel, crypto::kAesKeySize);
  auto opened = crypto::aes128_gcm_open(seal_key.view(), blob.subspan(1, crypto::kGcmNonceSize), seal_aad(column, row),
                                        blob.subspan(1 + crypto::kGcmNonceSize));
  if (!opened) return fail("sealed value fails authentication");
  SecretBytes out(*opened);
  secure_wipe(opened->data(), opened->size());
  return out;
}

}  // namespace cardperso::ads
