#include "batch_secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cardperso/ads/store/card_codes.hpp"

namespace cardperso::adsctl {

Result<SecretBytes> read_batch_secret_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail("cannot open secret file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("secret file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail("secret file " + path + " is accessible by group or others; run `chmod 600 " + path + "`");
  }
  SecretBytes buf(1024);
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return fail("cannot read secret file " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got == buf.size()) {
      ::close(fd);
      return fail("secret file " + path + " is too large; it must hold 32 hex digits or 16 raw bytes");
    }
  }
  ::close(fd);
  const std::string_view text(reinterpret_cast<const char*>(buf.data()), got);
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first != std::string_view::npos) {
    const auto trimmed = text.substr(first, last - first + 1);
    if (trimmed.size() == 2 * ads::kBatchSecretSize) {
      if (auto bytes = from_hex(trimmed); bytes && bytes->size() == ads::kBatchSecretSize) {
        SecretBytes secret(*bytes);
        secure_wipe(bytes->data(), bytes->size());
        return secret;
      }
    }
  }
  if (got == ads::kBatchSecretSize) return SecretBytes(buf.view().first(got));
  return fail("secret file " + path + " must hold 32 hex digits or 16 raw bytes (it holds " + std::to_string(got) +
              " bytes)");
}

}  // namespace cardperso::adsctl
