#include "cardperso/net/serial_link.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cardperso::net {

Result<FramedStream> open_serial_link(const asio::any_io_executor& executor, const std::string& device_path,
                                      StreamOptions options) {
  const int fd = ::open(device_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return fail("cannot open serial link " + device_path + ": " + std::strerror(errno) +
                "; check the device path and its permissions");
  termios tio{};
  if (::tcgetattr(fd, &tio) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail(device_path + " is not a terminal device (" + why + "); give the tty of the serial link");
  }
  // Raw: frames are binary, so no echo, no line buffering, no CR/LF or flow-control byte handling.
  ::cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &tio) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail("cannot put " + device_path + " in raw mode: " + why);
  }
  ::tcflush(fd, TCIOFLUSH);  // drop whatever was queued before we owned the line
  asio::serial_port port(executor);
  boost::system::error_code ec;
  port.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return fail("cannot use " + device_path + " for asynchronous I/O: " + ec.message());
  }
  if (options.peer.empty()) options.peer = device_path;
  return FramedStream(std::move(port), std::move(options));
}

}  // namespace cardperso::net
