#include "cardperso/ads/store/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cardperso::ads {

namespace {

std::string directory_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

Result<void> create_private_file(const std::string& path, std::string_view exists_message) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return fail(Errc::AlreadyExists, std::string(exists_message));
    return fail("cannot create " + path + ": " + std::strerror(errno));
  }
  Result<void> result{};
  struct stat dir {};
  if (::geteuid() == 0 && ::stat(directory_of(path).c_str(), &dir) == 0 && dir.st_uid != 0 &&
      ::fchown(fd, dir.st_uid, dir.st_gid) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    result = fail("cannot give " + path + " the owner of its directory (uid " + std::to_string(dir.st_uid) +
                  "): " + std::strerror(saved));
  }
  ::close(fd);
  return result;
}

}  // namespace cardperso::ads
