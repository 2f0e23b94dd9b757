#pragma once
// One DTD connection on the ADS: the Asio adapter around proto::AdsLinkCore (hello, channel 0,
// keepalive, link timeout, the session table) and the link's sessions (link_sessions.hpp). It reads
// with a timeout bounded by the next link or session deadline, so every timer is a read timeout,
// and carries out the cores' actions in order. A stop request (ServerContext::request_stop)
// interrupts the pending read; nothing polls.
#include <memory>

#include "cardperso/ads/service/server_context.hpp"
#include "cardperso/net/framed_stream.hpp"

namespace cardperso::ads {

// The TcpListener handler: [ctx](net::FramedStream s) { return serve_dtd_connection(ctx, std::move(s)); }
net::asio::awaitable<void> serve_dtd_connection(std::shared_ptr<ServerContext> server, net::FramedStream stream);

}  // namespace cardperso::ads
