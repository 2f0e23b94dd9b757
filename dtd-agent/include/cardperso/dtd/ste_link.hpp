#pragma once
// The DTD's side of the local STE link: a TCP listener (one STE at a time; RelaySession refuses a
// second) or a tty device (a serial line or a socat pty), reopened after it fails.
#include <memory>
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd {

class SteListener : public std::enable_shared_from_this<SteListener> {
 public:
  static Result<std::shared_ptr<SteListener>> open(const net::asio::any_io_executor& executor, const net::Endpoint& where);
  // Accepts until close(); every connection is handed to relay->serve_ste.
  void start(std::shared_ptr<RelaySession> relay);
  void close();
  net::Endpoint local_endpoint() const;

  // Public for make_shared only; use open().
  explicit SteListener(net::tcp::acceptor acceptor) : acceptor_(std::move(acceptor)) {}

 private:
  static net::asio::awaitable<void> accept_loop(std::shared_ptr<SteListener> self, std::shared_ptr<RelaySession> relay);
  net::tcp::acceptor acceptor_;
  bool closed_ = false;
};

// Serves the tty at `path` until the relay stops: opens it (retrying while it is missing), serves the
// STE on it, and opens it again after the link fails.
net::asio::awaitable<void> serve_ste_tty(std::string path, std::shared_ptr<RelaySession> relay);

}  // namespace cardperso::dtd
