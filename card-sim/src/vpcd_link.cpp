#include "vpcd_link.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

namespace cardperso::cardsim {
namespace {

std::string header_hex(ByteView apdu) { return to_hex(apdu.first(std::min<std::size_t>(apdu.size(), 5))); }

std::string sw_hex(ByteView rapdu) {
  return rapdu.size() >= 2 ? to_hex(rapdu.last(2)) : std::string("(none)");
}

void set_quickack(int fd) {
  // Debian 12's vpcd writes length and payload in two send() calls without TCP_NODELAY; Nagle on
  // its side plus delayed ACK on ours costs ~44 ms per message. Quick ACK is not sticky in Linux,
  // hence after every recv (docs/cards.md §3.2).
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

Result<int> connect_once(const VpcdEndpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return fail("cannot resolve vpcd host '" + endpoint.host + "': " + ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      set_quickack(fd);
      return fd;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return fail(last_error);
}

}  // namespace

VpcdAnswer answer_vpcd_message(SimCard& card, const VpcdMessage& message) {
  VpcdAnswer answer;
  if (const auto* control = std::get_if<VpcdControl>(&message)) {
    switch (*control) {
      case VpcdControl::GetAtr:
        spdlog::trace("vpcd: get ATR");
        answer.reply_frame = encode_vpcd_reply(card.atr());
        break;
      case VpcdControl::PowerOn:
        spdlog::debug("vpcd: power on");
        card.power_on();
        break;
      case VpcdControl::Reset:
        spdlog::debug("vpcd: reset");
        card.power_on();
        break;
      case VpcdControl::PowerOff:
        spdlog::debug("vpcd: power off");
        card.power_off();
        break;
    }
  } else if (const auto* unknown = std::get_if<VpcdUnknownControl>(&message)) {
    spdlog::warn("vpcd: unknown control byte {:02x}, ignored", unknown->code);
  } else {
    const auto& apdu = std::get<VpcdApdu>(message).command;
    Bytes response = card.transmit(apdu);
    spdlog::debug("apdu {} -> {} ({} bytes of data)", header_hex(apdu), sw_hex(response),
                  response.size() >= 2 ? response.size() - 2 : 0);
    answer.image_changed = card.state_changed();
    answer.reply_frame = encode_vpcd_reply(response);
  }
  return answer;
}

VpcdLink::~VpcdLink() { close(); }

Result<void> VpcdLink::connect(const VpcdEndpoint& endpoint, std::chrono::milliseconds timeout) {
  close();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto fd = connect_once(endpoint);
    if (fd) {
      fd_ = *fd;
      decoder_ = VpcdDecoder{};
      return {};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail("cannot connect to vpcd at " + endpoint.host + ":" + std::to_string(endpoint.port) + " (" +
                  fd.error().message +
                  "); is pcscd running with the vpcd driver (reader.conf.d/vpcd, package vsmartcard-vpcd)?");
    }
    // Single-threaded program; sleeping here is the retry pause, nothing else is waiting.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void VpcdLink::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Result<void> VpcdLink::receive() {
  std::array<std::uint8_t, 4096> buffer{};
  ssize_t n;
  do {
    n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    std::string why = std::strerror(errno);
    close();
    return fail("reading from vpcd failed: " + why);
  }
  if (n == 0) {
    close();
    return fail("vpcd closed the connection (pcscd stopped or reader removed)");
  }
  set_quickack(fd_);
  decoder_.feed(ByteView(buffer.data(), static_cast<std::size_t>(n)));
  return {};
}

Result<std::optional<VpcdMessage>> VpcdLink::next_message() {
  auto message = decoder_.next();
  if (!decoder_.error().empty()) {
    std::string why = decoder_.error();
    close();
    return fail(why);
  }
  return message;
}

Result<void> VpcdLink::send(ByteView frame) {
  std::size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = std::strerror(errno);
      close();
      return fail("writing to vpcd failed: " + why);
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace cardperso::cardsim
