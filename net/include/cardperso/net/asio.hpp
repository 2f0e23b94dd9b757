#pragma once
// The one way net code reaches Boost.Asio. <utility> comes first because Boost 1.74's awaitable.hpp
// uses std::exchange without including it (fixed in 1.79); the build also force-includes it, this
// keeps the header correct on its own.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

// Coroutine rules with GCC 12 + Boost 1.74: no capturing lambdas as coroutines, and no default
// arguments on coroutine parameters (the default-argument temporary is destroyed twice); offer a
// plain-function overload instead.
namespace cardperso::net {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
}  // namespace cardperso::net
