// dtd-agent: relays one STE's sessions to the ADS until SIGTERM/SIGINT. One thread runs the
// io_context, which is what lets the STE and ADS coroutines share the relay state without locks.
#include <unistd.h>

#include <iostream>

#include "cardperso/cli/logged_run.hpp"
#include "cardperso/common/logging.hpp"
#include "cardperso/common/process_hardening.hpp"
#include "cardperso/dtd/console/console_access.hpp"
#include "cardperso/dtd/console/console_model.hpp"
#include "cardperso/dtd/console/console_server.hpp"
#include "cardperso/dtd/customer_desk.hpp"
#include "cardperso/dtd/relay_session.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/terminal_status.hpp"
#include "cardperso/dtd/ste_link.hpp"
#include "cardperso/net/shutdown_signals.hpp"
#include "dtd_metrics.hpp"
#include "dtd_options.hpp"

namespace {

using namespace cardperso;
namespace asio = net::asio;

constexpr int kExitRefused = 2;

// No request files and a person at the keyboard: ask for the customers before serving the link (the
// prompts must not block the running relay).
std::vector<dtd::CustomerRequest> ask_customers() {
  std::vector<dtd::CustomerRequest> out;
  for (;;) {
    std::cout << "Customer " << out.size() + 1 << " details:" << std::endl;
    auto r = dtd::prompt_customer(std::cin, std::cout);
    if (!r) {
      std::cout << r.error().message << std::endl;
      break;
    }
    out.push_back(std::move(*r));
    std::cout << "Another customer? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y")) break;
  }
  return out;
}

// --pair CODE: the code the terminal showed, checked and stored; it is the key, so it is never logged.
// --pair -: the code is read from the first line of stdin, so it never shows in the process list.
int store_pairing(const dtd::DtdOptions& options) {
  std::string typed;
  if (*options.pair_code == "-") {
    if (!std::getline(std::cin, typed)) {
      std::cerr << "dtd-agent: --pair -: no line on standard input; type the code the terminal shows\n";
      return kExitRefused;
    }
  }
  auto key = proto::parse_pairing_code(*options.pair_code == "-" ? typed : *options.pair_code);
  if (!typed.empty()) secure_wipe(typed.data(), typed.size());
  if (!key) {
    std::cerr << "dtd-agent: " << key.error().message << "\n";
    return kExitRefused;
  }
  if (auto made = proto::create_pairing_file(options.pairing_file, *key); !made) {
    std::cerr << "dtd-agent: " << made.error().message << "\n";
    return kExitRefused;
  }
  spdlog::info("paired with a terminal: key stored in {}", options.pairing_file);
  std::cout << "paired: the terminal's key is in " << options.pairing_file << std::endl;
  return 0;
}

int run(dtd::DtdOptions options) {
  if (options.pair_code) return store_pairing(options);
  auto pairing_key = proto::load_pairing_file(options.pairing_file);
  if (!pairing_key) {
    spdlog::error("not paired with a terminal: {}", pairing_key.error().message);
    std::cerr << "dtd-agent: not paired with a terminal: " << pairing_key.error().message
              << " (ste-firmware --pair shows a code; give it to dtd-agent --pair CODE)\n";
    return kExitRefused;
  }
  options.relay.pairing_key = std::move(*pairing_key);
  // Before the io_context: the exporter's threads outlive every handler that reports to it.
  std::unique_ptr<dtd::DtdMetrics> metrics;
  if (options.metrics_listen) {
    auto started = dtd::DtdMetrics::start(*options.metrics_listen);
    if (!started) {
      spdlog::error("{}", started.error().message);
      std::cerr << "dtd-agent: " << started.error().message << "\n";
      return kExitRefused;
    }
    metrics = std::move(started).value();
    spdlog::info("metrics on http://{}/metrics", metrics->endpoint().to_string());
    options.relay.metrics = metrics.get();
  }
  // Declared before the io_context: the handlers it still holds when it goes report to the model.
  std::unique_ptr<dtd::console::ConsoleModel> console_model;
  std::shared_ptr<dtd::RelaySession> relay;
  if (options.console_listen) {
    console_model = std::make_unique<dtd::console::ConsoleModel>(
        dtd::console::rules_from_policy(options.policy),
        dtd::console::ConsoleActions{
            .submit = [&relay](dtd::CustomerRequest r) { return relay->submit(std::move(r)); },
            .end_session = [&relay] { relay->end_session(); }});
    options.relay.on_levels = [model = console_model.get()](const dtd::RelayLevels& now) {
      model->set_links(now.ads_link_up, now.ste_link_up, now.retailer_signed_on);
    };
    options.relay.on_terminal_status = [model = console_model.get()](const proto::TerminalStatus& status) {
      model->set_prompt(dtd::console::Prompt{std::string(proto::to_string(status.prompt)), status.step, status.steps});
    };
  }
  asio::io_context io;
  // `relay` is declared above for the console's actions, but its links hold the io_context's timers:
  // this guard, declared after the io_context, lets go of it before the io_context is destroyed, on
  // every return path (ASan: heap-use-after-free in ~FramedStream otherwise).
  struct ReleaseBeforeIo {
    std::shared_ptr<dtd::RelaySession>& held;
    ~ReleaseBeforeIo() { held.reset(); }
  } release_relay{relay};
  std::function<void()> stop_all;
  if (options.requests.empty() && !options.relay.echo_text && !options.console_listen &&
      ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1)
    options.requests = ask_customers();
  if (!options.requests.empty() || console_model) {
    spdlog::info("{} personalisation request(s) queued", options.requests.size());
    options.relay.desk = std::make_shared<dtd::CustomerDesk>(options.requests, options.receipt_dir, std::cout);
    if (console_model) {
      // The desk stays open for the next customer until the retailer ends the session.
      options.relay.desk->set_open(true);
      options.relay.desk->set_observer(console_model.get());
    }
    if (options.exit_after_last)
      options.relay.on_all_served = [&stop_all] {
        spdlog::info("every request served; exiting");
        if (stop_all) stop_all();
      };
  }
  relay = std::make_shared<dtd::RelaySession>(io.get_executor(), options.relay);
  std::shared_ptr<dtd::console::ConsoleServer> console;
  if (console_model) {
    auto opened = dtd::console::ConsoleServer::open(io.get_executor(), *options.console_listen,
                                                    dtd::console::make_token(), *console_model);
    if (!opened) {
      spdlog::error("{}", opened.error().message);
      std::cerr << "dtd-agent: " << opened.error().message << "\n";
      return kExitRefused;
    }
    console = *opened;
    console_model->set_on_change([server = console.get()] { server->broadcast(); });
    console->start();
    // The token goes to whoever reads standard output (the retailer's terminal), never to the log.
    std::cout << "console on http://" << console->host_port() << "/?token=" << console->token() << std::endl;
    spdlog::info("console on http://{}/ (its token is on standard output)", console->host_port());
  }
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
  std::optional<net::ShutdownSignals> signals;
  stop_all = [&] {
    if (listener) listener->close();
    if (console) console->close();
    relay->stop([&] {
      signals->cancel();
      io.stop();
    });
  };
  signals.emplace(io, [&](int) { stop_all(); });
  io.run();
  spdlog::info("dtd-agent stopped: {} sessions relayed", relay->sessions_relayed());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A DTD holds SK_D and customer details only: a small secure heap is plenty.
  const auto hardening = cardperso::harden_process({.secure_heap_bytes = 256 * 1024, .secure_heap_min_block = 16});
  auto parsed = cardperso::dtd::parse_dtd_options(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<cardperso::dtd::DtdOptions>(parsed);
  return cardperso::cli::run_logged("dtd-agent", options.log, hardening, [&options] { return run(options); });
}
