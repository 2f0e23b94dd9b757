// Card image files: atomic replacement with mode 0600, because an image holds Ki and codes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cardperso/cardsim/card_image.hpp"

namespace cardperso::cardsim {

namespace {
inline constexpr std::size_t kMaxImageFileSize = 4 * 1024 * 1024;  // 200 files of 4 KiB in hex fit easily

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
}  // namespace

Result<CardImage> load_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail("cannot open card image " + path + ": " + errno_text() + "; check the path");
  if (!S_ISREG(st.st_mode)) return fail("card image " + path + " is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > kMaxImageFileSize)
    return fail("card image " + path + " is larger than 4 MiB; it is not a card image");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open card image " + path + ": " + errno_text());
  std::ostringstream text;
  text << in.rdbuf();
  auto image = image_from_json(text.str());
  if (!image) return fail(path + ": " + image.error().message);
  return image;
}

Result<void> save_image(const std::string& path, const CardImage& image) {
  const std::string text = image_to_json(image) + "\n";
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());  // creates the file with mode 0600
  if (fd < 0) return fail("cannot create a temporary file next to " + path + ": " + errno_text());
  ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("cannot write card image " + tmp + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto why = errno_text();
    ::unlink(tmp.c_str());
    return fail("cannot flush card image " + tmp + ": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto why = errno_text();
    ::unlink(tmp.c_str());
    return fail("cannot replace card image " + path + ": " + why);
  }
  // The rename itself survives a crash only once the directory is on disk.
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace cardperso::cardsim
