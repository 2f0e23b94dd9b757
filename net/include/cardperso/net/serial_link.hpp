#pragma once
// The STE<->DTD local link over a tty (a real serial line or a socat pty pair): the device is put
// in raw mode (no echo, no line editing, no CR/LF translation) so frames pass byte for byte.
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/framed_stream.hpp"

namespace cardperso::net {

Result<FramedStream> open_serial_link(const asio::any_io_executor& executor, const std::string& device_path,
                                      StreamOptions options = {});

}  // namespace cardperso::net
