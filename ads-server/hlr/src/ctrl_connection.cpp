#include "cardperso/ads/hlr/ctrl_connection.hpp"

#include <array>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace cardperso::ads::hlr {

namespace asio = net::asio;
using net::tcp;
using boost::system::error_code;

// Shared with the deadline handler, which may fire after the coroutine moved on.
struct CtrlConnection::Impl {
  explicit Impl(const asio::any_io_executor& executor) : resolver(executor), socket(executor), deadline(executor) {}
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer deadline;
  net::Endpoint peer;
  CtrlReader reader;
  std::uint32_t next_id = 1;
  bool timed_out = false;

  // A deadline that closes the socket: the pending read or write then ends with an error.
  void arm(std::chrono::milliseconds timeout, const std::shared_ptr<Impl>& self) {
    timed_out = false;
    deadline.expires_after(timeout);
    deadline.async_wait([weak = std::weak_ptr<Impl>(self)](const error_code& ec) {
      if (ec) return;
      auto s = weak.lock();
      if (!s) return;
      s->timed_out = true;
      s->resolver.cancel();
      error_code ignored;
      s->socket.close(ignored);
    });
  }
  void disarm() { deadline.cancel(); }
  void close() {
    error_code ignored;
    socket.close(ignored);
  }
};

CtrlConnection::CtrlConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

CtrlConnection::~CtrlConnection() {
  if (impl_) {
    impl_->disarm();
    impl_->close();
  }
}

bool CtrlConnection::open() const { return impl_->socket.is_open(); }
const net::Endpoint& CtrlConnection::peer() const { return impl_->peer; }

asio::awaitable<Result<std::unique_ptr<CtrlConnection>>> CtrlConnection::connect(net::Endpoint hlr,
                                                                                 std::chrono::milliseconds timeout) {
  auto impl = std::make_shared<Impl>(co_await asio::this_coro::executor);
  impl->peer = hlr;
  const std::string where = "the HLR's CTRL port " + hlr.to_string();
  impl->arm(timeout, impl);
  error_code ec;
  const auto results = co_await impl->resolver.async_resolve(hlr.host, std::to_string(hlr.port),
                                                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec || results.empty()) {
    impl->disarm();
    co_return fail(Errc::Unavailable, "cannot resolve " + where + ": " +
                                          (impl->timed_out ? "timed out" : ec.message()));
  }
  co_await asio::async_connect(impl->socket, results, asio::redirect_error(asio::use_awaitable, ec));
  impl->disarm();
  if (ec || impl->timed_out) {
    co_return fail(Errc::Unavailable, "cannot connect to " + where + ": " +
                                          (impl->timed_out ? "no answer within " + std::to_string(timeout.count()) +
                                                                 " ms"
                                                           : ec.message()) +
                                          "; is osmo-hlr running and its ctrl bound to this address?");
  }
  co_return std::unique_ptr<CtrlConnection>(new CtrlConnection(std::move(impl)));
}

asio::awaitable<Result<CtrlReply>> CtrlConnection::request(CtrlVerb verb, std::string variable, CtrlText value,
                                                           std::chrono::milliseconds timeout) {
  auto impl = impl_;
  if (!impl->socket.is_open()) co_return fail(Errc::Unavailable, "the CTRL connection to the HLR is closed");
  const std::uint32_t id = impl->next_id++;
  auto frame = encode_ctrl_request(verb, id, variable, value.view());
  if (!frame) co_return frame.error();
  const std::string where = "HLR " + impl->peer.to_string();
  impl->arm(timeout, impl);
  error_code ec;
  co_await asio::async_write(impl->socket, asio::buffer(frame->data(), frame->size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  frame->wipe();
  auto broken = [&](const std::string& what) -> Result<CtrlReply> {
    impl->disarm();
    impl->close();
    return fail(Errc::Unavailable, what + " (" + where + "); the connection is closed and will be reopened");
  };
  if (ec) co_return broken(impl->timed_out ? "no room to send within " + std::to_string(timeout.count()) + " ms"
                                           : "cannot send to the HLR: " + ec.message());
  std::array<std::uint8_t, 4096> chunk{};
  for (;;) {
    auto message = impl->reader.next();
    if (!message) co_return broken("the HLR sent a malformed CTRL message: " + message.error().message);
    if (*message) {
      CtrlReply reply = std::move(**message);
      if (reply.kind == CtrlReply::Kind::Trap) continue;
      if (reply.id != id) co_return broken("the HLR answered request " + std::to_string(reply.id) + ", not " +
                                           std::to_string(id));
      impl->disarm();
      co_return reply;
    }
    const std::size_t n =
        co_await impl->socket.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    impl->reader.feed(ByteView(chunk.data(), n));
    secure_wipe(chunk.data(), n);
    if (ec) {
      co_return broken(impl->timed_out ? "no reply within " + std::to_string(timeout.count()) + " ms"
                                       : ec == asio::error::eof ? std::string("the HLR closed the connection")
                                                                : "cannot read from the HLR: " + ec.message());
    }
  }
}

asio::awaitable<Result<void>> CtrlConnection::run(SubscriberSync& sync, std::chrono::milliseconds timeout) {
  while (const auto* step = sync.current()) {
    auto reply = co_await request(step->verb, step->variable, step->value, timeout);
    if (!reply) co_return reply.error();
    sync.on_reply(*reply);
  }
  if (sync.failure()) co_return fail(Errc::Failed, *sync.failure());
  co_return Result<void>{};
}

}  // namespace cardperso::ads::hlr
