#include "cardperso/common/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cardperso {

Result<void> create_secret_file(const std::string& path, const SecretBytes& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return fail(Errc::AlreadyExists, path + " exists already; remove it first to make a new one");
    return fail(Errc::Failed, "cannot create " + path + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return fail(Errc::Failed, "cannot write " + path + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return fail(Errc::Failed, "cannot write " + path + ": " + std::strerror(errno));
  return {};
}

Result<SecretBytes> read_secret_file(const std::string& path, std::size_t max_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return fail(errno == ENOENT ? Errc::NotFound : Errc::Failed, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(Errc::InvalidInput, path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(Errc::InvalidInput, path + " may be read by group or others; run `chmod 600 " + path + "`");
  }
  if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > max_size) {
    ::close(fd);
    return fail(Errc::InvalidInput, path + " is larger than " + std::to_string(max_size) + " bytes; not the expected file");
  }
  SecretBytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != out.size()) return fail(Errc::Failed, "cannot read all of " + path);
  return out;
}

}  // namespace cardperso
