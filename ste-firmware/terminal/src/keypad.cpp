#include "cardperso/ste/keypad.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>

namespace cardperso::ste {

Result<void> check_digits(const SecretBytes& entry, std::size_t min_digits, std::size_t max_digits) {
  if (entry.size() < min_digits || entry.size() > max_digits)
    return fail("entry must have " + std::to_string(min_digits) + " to " + std::to_string(max_digits) +
                " digits; type it again");
  for (std::size_t i = 0; i < entry.size(); ++i)
    if (entry[i] < '0' || entry[i] > '9') return fail("entry must contain digits only; type it again");
  return {};
}

Result<bool> parse_confirmation(std::string_view entry) {
  while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
  while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
  std::string lower;
  for (char c : entry.substr(0, 16)) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (entry.size() <= 16 && lower == "ok") return true;
  if (entry.size() <= 16 && lower == "cancel") return false;
  return fail("expected OK or CANCEL on the keypad");
}

namespace {

std::string_view as_text(const SecretBytes& line) {
  return {reinterpret_cast<const char*>(line.data()), line.size()};
}

// Reads one line from fd into a SecretBytes, byte by byte, so no copy of the PIN sits in a stdio
// buffer. Returns nullopt at end of input.
Result<SecretBytes> read_line(int fd, bool* eof) {
  SecretBytes buf(256);
  std::size_t n = 0;
  *eof = false;
  for (;;) {
    char c = 0;
    ssize_t r = ::read(fd, &c, 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(std::string("keypad read failed: ") + std::strerror(errno));
    }
    if (r == 0) {
      *eof = (n == 0);
      break;
    }
    if (c == '\n') break;
    if (c == '\r') continue;
    if (n == buf.size()) return fail("keypad entry too long (over 256 characters)");
    buf[n++] = static_cast<std::uint8_t>(c);
  }
  return SecretBytes(ByteView(buf.data(), n));
}

class FdKeypad final : public Keypad {
 public:
  FdKeypad(int fd, bool owns) : fd_(fd), owns_(owns) {}
  ~FdKeypad() override {
    if (owns_) ::close(fd_);
  }
  Result<SecretBytes> read_digits(std::string_view, std::size_t min_digits, std::size_t max_digits) override {
    for (;;) {
      bool eof = false;
      auto line = read_line(fd_, &eof);
      if (!line) return line.error();
      if (eof) return fail("keypad script ended: no entry left for this prompt");
      if (line->empty() || (*line)[0] == '#') continue;
      if (auto ok = check_digits(*line, min_digits, max_digits); !ok) return ok.error();
      return std::move(line).value();
    }
  }
  Result<bool> confirm(std::string_view prompt) override {
    for (;;) {
      bool eof = false;
      auto line = read_line(fd_, &eof);
      if (!line) return line.error();
      if (eof) return fail("keypad script ended: no OK or CANCEL left for '" + std::string(prompt) + "'");
      if (line->empty() || (*line)[0] == '#') continue;
      return parse_confirmation(as_text(*line));
    }
  }

 private:
  int fd_;
  bool owns_;
};

class TtyKeypad final : public Keypad {
 public:
  Result<SecretBytes> read_digits(std::string_view prompt, std::size_t min_digits, std::size_t max_digits) override {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail("no terminal for the keypad; run with --keypad-script file:PATH for unattended use");
    termios old{};
    bool restore = ::tcgetattr(fd, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHONL));
      quiet.c_lflag |= ICANON;
      ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::string p = "[STE keypad] " + std::string(prompt) + ": ";
    (void)!::write(fd, p.data(), p.size());
    bool eof = false;
    auto line = read_line(fd, &eof);
    if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
    (void)!::write(fd, "\n", 1);
    ::close(fd);
    if (!line) return line.error();
    if (eof) return fail("keypad closed");
    if (auto ok = check_digits(*line, min_digits, max_digits); !ok) return ok.error();
    return std::move(line).value();
  }
  // Echo stays on: nothing secret is typed here. Enter alone is not an answer, so a stray key press
  // cannot write a card.
  Result<bool> confirm(std::string_view prompt) override {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail("no terminal for the keypad; run with --keypad-script file:PATH for unattended use");
    for (;;) {
      std::string p = "[STE keypad] " + std::string(prompt) + " [ok/cancel]: ";
      (void)!::write(fd, p.data(), p.size());
      bool eof = false;
      auto line = read_line(fd, &eof);
      if (!line || eof) {
        ::close(fd);
        if (!line) return line.error();
        return fail("keypad closed");
      }
      auto answer = parse_confirmation(as_text(*line));
      if (answer) {
        ::close(fd);
        return answer;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Keypad> make_tty_keypad() { return std::make_unique<TtyKeypad>(); }

Result<std::unique_ptr<Keypad>> make_script_keypad(const std::string& spec) {
  if (spec.rfind("fd:", 0) == 0) {
    char* end = nullptr;
    long fd = std::strtol(spec.c_str() + 3, &end, 10);
    if (end == spec.c_str() + 3 || *end != '\0' || fd < 0 || fd > 1024)
      return fail("bad keypad script '" + spec + "': expected fd:N");
    if (::fcntl(static_cast<int>(fd), F_GETFD) < 0)
      return fail("keypad script fd " + std::to_string(fd) + " is not open");
    return std::unique_ptr<Keypad>(std::make_unique<FdKeypad>(static_cast<int>(fd), false));
  }
  std::string path = spec.rfind("file:", 0) == 0 ? spec.substr(5) : spec;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open keypad script '" + path + "': " + std::strerror(errno));
  return std::unique_ptr<Keypad>(std::make_unique<FdKeypad>(fd, true));
}

}  // namespace cardperso::ste
