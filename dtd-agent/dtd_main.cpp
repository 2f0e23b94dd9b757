// dtd-agent: relays one STE's sessions to the ADS until SIGTERM/SIGINT. One thread runs the
// io_context, which is what lets the STE and ADS coroutines share the relay state without locks.
#include <iostream>

#include "cardperso/common/logging.hpp"
#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/dtd/ste_link.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "dtd_options.hpp"

namespace {

using namespace cardperso;
namespace asio = net::asio;

constexpr int kExitRefused = 2;

int run(const dtd::DtdOptions& options) {
  asio::io_context io;
  auto relay = std::make_shared<dtd::RelaySession>(io.get_executor(), options.relay);
  std::shared_ptr<dtd::SteListener> listener;
  if (options.ste_listen) {
    auto opened = dtd::SteListener::open(io.get_executor(), *options.ste_listen);
    if (!opened) {
      spdlog::error("{}", opened.error().message);
      std::cerr << "dtd-agent: " << opened.error().message << "\n";
      return kExitRefused;
    }
    listener = *opened;
    listener->start(relay);
    std::cout << "ste link on " << listener->local_endpoint().to_string() << std::endl;
    spdlog::info("waiting for the STE on {}", listener->local_endpoint().to_string());
  } else {
    spdlog::info("serving the STE on tty {}", *options.ste_tty);
    asio::co_spawn(io, dtd::serve_ste_tty(*options.ste_tty, relay), asio::detached);
  }
  relay->start();
  net::ShutdownSignals signals(io, [&](int) {
    if (listener) listener->close();
    relay->stop([&] {
      signals.cancel();
      io.stop();
    });
  });
  io.run();
  spdlog::info("dtd-agent stopped: {} sessions relayed", relay->sessions_relayed());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = cardperso::dtd::parse_dtd_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<cardperso::dtd::DtdOptions>(parsed);
  cardperso::init_logging("dtd-agent", options.log_level, options.log_file);
  try {
    return run(options);
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {}", e.what());
    return kExitRefused;
  }
}
