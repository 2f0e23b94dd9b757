// ste-firmware: the secure terminal program (process contract in the "Secure session" issue).
// Flow: connect to the DTD link, wait for the retailer card, sign on (PIN checked by the card, which
// then computes the handshake's values with keys it never reveals), run the secure session with the ADS through the DTD; with --echo-test check the
// channel and terminate, else serve the customer cards the ADS asks for until it ends the session;
// erase every key.
//
// Threading: one io_context on the main thread runs the terminal coroutine and the DTD link. The
// card and keypad work that waits on people (the retailer card's insertion and PIN, the customer
// card's swap, the clerk's OK, the customer's PIN and PUK, the script's APDUs) is plain blocking code
// run on a one-thread pool while the terminal coroutine waits for it (run_blocking), so the io thread
// stays free to send what the display shows to the DTD (TerminalStatus) as it is shown. Only one of
// the two threads works on the card, keypad and display at a time: the coroutine does nothing until
// the blocking call is back. What the DTD sends meanwhile waits in the socket buffer and is read by
// the session. During the handshake the retailer card computes three values (a few APDUs,
// milliseconds, between link reads) on the io thread; every link read has its timeout.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/log_options.hpp"
#include "cardperso/cli/logged_run.hpp"
#include "cardperso/common/logging.hpp"
#include "cardperso/common/process_hardening.hpp"
#include "cardperso/net/asio.hpp"
#include "cardperso/net/endpoint.hpp"
#include "cardperso/net/serial_link.hpp"
#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/terminal_identity.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/keypad.hpp"
#include "cardperso/ste/customer_card.hpp"
#include "cardperso/ste/perso_flow.hpp"
#include "cardperso/ste/retailer_card.hpp"
#include "link_status_reporter.hpp"
#include "ste_session.hpp"

namespace po = boost::program_options;

namespace cardperso::ste {
namespace {

using net::asio::awaitable;

using cli::kExitOk;
using cli::kExitUsage;
constexpr int kExitRefused = cli::kExitFailed;
constexpr auto kConnectTimeout = std::chrono::milliseconds{5'000};
// How long the DTD gets to answer SteHello before the terminal goes on without the answer.
constexpr auto kHelloWait = std::chrono::milliseconds{5'000};
// How long the last statuses get to reach the DTD before the terminal closes the link.
constexpr auto kStatusFlush = std::chrono::milliseconds{1'000};

struct Config {
  std::optional<net::Endpoint> dtd;
  std::string dtd_tty;
  std::string reader;
  std::string keypad_script;
  std::chrono::seconds card_timeout{60};
  std::chrono::milliseconds response_timeout{30'000};
  std::chrono::seconds idle_timeout{900};  // --idle-timeout-s: waiting for the shop's next customer
  std::optional<std::string> echo_text;
  std::string pairing_file;  // --pairing-file
  bool pair = false;         // --pair: make the pairing file, show its code, exit
  std::string device_key_file;     // --device-key
  bool init_device_key = false;    // --init-device-key: make the device key file, show its public key, exit
  bool print_device_key = false;   // --print-device-key: show the public key of --device-key, exit
};

int refuse(Display& display, const std::string& reason, const std::string& detail) {
  spdlog::error("{}", detail);
  display.show("Refused: " + reason);
  return kExitRefused;
}

// Once the DTD has answered the hello, the console mirrors the refusal too.
int refuse(Display& display, StatusReporter& status, const std::string& reason, const std::string& detail) {
  const int code = refuse(display, reason, detail);
  status.report(proto::TerminalPrompt::Refused);
  return code;
}

awaitable<Result<net::FramedStream>> open_dtd_link(Config config) {
  if (config.dtd) {
    net::ConnectOptions options;
    options.timeout = kConnectTimeout;
    auto link = co_await net::connect_tcp(*config.dtd, options);
    if (!link) co_return fail("cannot reach the DTD at " + config.dtd->to_string() + ": " + link.error().message);
    co_return link;
  }
  // GCC 12 mishandles co_await inside a call's arguments: take the executor first.
  const net::asio::any_io_executor executor = co_await net::asio::this_coro::executor;
  auto link = net::open_serial_link(executor, config.dtd_tty);
  co_return link;
}

// From the DTD's hello answer to the session's end: the retailer card, the sign-on and the session.
awaitable<int> serve_terminal(Config config, net::FramedStream link, LinkStatusReporter* status, Display* display,
                              Keypad* keypad, net::asio::thread_pool* pool, SecretBytes pairing_key,
                              proto::DeviceSigner device) {
  auto pcsc = cardperso::pcsc::PcscReader::open();
  if (!pcsc) co_return refuse(*display, *status, "card reader unavailable", pcsc.error().message);
  auto reader_name = pcsc->pick_reader(config.reader);
  if (!reader_name) co_return refuse(*display, *status, "card reader unavailable", reader_name.error().message);
  spdlog::info("using reader '{}'", *reader_name);
  display->show("Insert retailer card");
  status->report(proto::TerminalPrompt::InsertRetailerCard);
  std::optional<Result<bool>> present;
  std::function<void()> wait_for_card = [&] { present = pcsc->wait_for_card_present(*reader_name, config.card_timeout); };
  co_await run_blocking(pool, std::move(wait_for_card));  // see top
  if (!*present) co_return refuse(*display, *status, "card reader unavailable", present->error().message);
  if (!**present)
    co_return refuse(*display, *status, "timeout",
                     fmt::format("no retailer card inserted within {} s", config.card_timeout.count()));
  auto card = pcsc->connect(*reader_name);
  if (!card) co_return refuse(*display, *status, "card not readable", card.error().message);
  cardperso::pcsc::PcscCard* card_ptr = &*card;
  const cardperso::card::TransmitFn transmit = [card_ptr](ByteView command) { return card_ptr->transmit(command); };

  std::optional<Result<RetailerCredentials>> credentials;
  std::function<void()> sign_on_work = [&] { credentials = sign_on(transmit, *keypad, *display, *status); };
  co_await run_blocking(pool, std::move(sign_on_work));  // see top
  if (!*credentials) {
    spdlog::error("sign-on refused: {}", credentials->error().message);  // the display and the DTD know
    co_return kExitRefused;
  }

  SessionOptions options;
  options.response_timeout = config.response_timeout;
  options.idle_timeout = config.idle_timeout;
  options.timeouts.handshake = config.response_timeout;
  // The core's own silence limit must not cut the wait for the next customer short.
  options.timeouts.idle = std::max<std::chrono::milliseconds>(config.idle_timeout, config.response_timeout);
  options.echo_text = config.echo_text;
  options.pairing_key = std::move(pairing_key);
  options.device = std::move(device);
  options.blocking_pool = pool;
  options.status = status;
  // Without --echo-test the session stays up for the customer cards the ADS asks for.
  std::optional<PcscCardSlot> slot;
  std::optional<CustomerCardFlow> flow;
  if (!config.echo_text) {
    slot.emplace(*pcsc, *reader_name);
    PersoFlowOptions perso;
    perso.card_timeout = config.card_timeout;
    flow.emplace(*slot, *keypad, *display, *status, perso);
    options.customer_flow = &*flow;
  }
  SteSession session(link, *display, std::move(options));
  auto outcome = co_await session.run(std::move(*credentials).value());
  co_return outcome.ok ? kExitOk : kExitRefused;
}

// The whole terminal run; returns the exit code.
awaitable<int> run_terminal(Config config, Display* display, Keypad* keypad, net::asio::thread_pool* pool) {
  auto pairing_key = proto::load_pairing_file(config.pairing_file);
  if (!pairing_key)
    co_return refuse(*display, "terminal not paired",
                     pairing_key.error().message + " (pair the terminal with its DTD: ste-firmware --pair, then "
                                                   "dtd-agent --pair CODE)");
  auto device = proto::load_device_key_file(config.device_key_file);
  if (!device)
    co_return refuse(*display, "no device key",
                     device.error().message + " (make one at installation: ste-firmware --init-device-key "
                                              "--device-key PATH, and have the issuer enrol its public key)");
  spdlog::info("device key {}", proto::device_key_hex((*device)->public_key()));
  auto link = co_await open_dtd_link(config);
  if (!link) co_return refuse(*display, "DTD link lost", link.error().message);
  spdlog::info("connected to the DTD at {}", link->peer());
  auto hello = co_await greet_dtd(*link, "ste-firmware", std::min(kHelloWait, config.response_timeout));
  if (!hello.ok) co_return refuse(*display, hello.refusal, hello.detail);

  // From here on the DTD hears what the display shows.
  LinkStatusReporter status(*link);
  const int code = co_await serve_terminal(std::move(config), *link, &status, display, keypad, pool,
                                           std::move(*pairing_key), std::move(*device));
  co_await status.flush(kStatusFlush);
  link->close();
  co_return code;
}

void on_done(int* exit_code, std::exception_ptr error, int code) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::critical("internal error: {}", e.what());
    }
    *exit_code = kExitRefused;
    return;
  }
  *exit_code = code;
}

std::optional<Config> parse(int argc, char** argv, cli::LogOptions* log, int* exit_code) {
  cli::CommandLine cl({.name = "ste-firmware",
                       .usage = "(--dtd HOST:PORT | --dtd-tty PATH) --pairing-file PATH --device-key PATH [options]\n"
                                "       ste-firmware --pair --pairing-file PATH\n"
                                "       ste-firmware (--init-device-key | --print-device-key) --device-key PATH",
                       .description = "The secure terminal (PIN pad + PC/SC reader): retailer sign-on with the retailer card,\n"
                                      "the secure session with the ADS through the DTD, and the customer cards it asks for."});
  std::string dtd, keypad, echo;
  long card_timeout_s = 60;
  long response_timeout_ms = 30'000;
  long idle_timeout_s = 900;
  Config config;
  cl.options().add_options()(
      "dtd", po::value(&dtd), "the DTD's STE link over TCP, HOST:PORT")(
      "dtd-tty", po::value(&config.dtd_tty), "the DTD's STE link over a tty (serial line or pty)")(
      "reader", po::value(&config.reader), "PC/SC reader name (default: the first reader)")(
      "keypad-script", po::value(&keypad), "keypad entries from file:PATH or fd:N, one a line: PINs, and OK or CANCEL when the terminal asks to confirm a card (default: the terminal; PINs without echo)")(
      "card-timeout-s", po::value(&card_timeout_s)->default_value(60),
      "how long to wait for a card to be inserted or removed (the retailer card, each customer card)")(
      "response-timeout-ms", po::value(&response_timeout_ms)->default_value(30'000),
      "how long to wait for an answer from the DTD/ADS during the handshake and within a card")(
      "idle-timeout-s", po::value(&idle_timeout_s)->default_value(900),
      "once signed on, how long to wait for the shop PC's next customer (its Decision, or the end of the "
      "session), after sign-on and after each card: a clerk fills in the customer's form first; match the "
      "ADS's idle timeout (15 min), 1..86400")(
      "echo-test", po::value(&echo), "after the handshake, send a sealed Echo(TEXT) to the ADS and wait for it back")(
      "pairing-file", po::value(&config.pairing_file),
      "the key this terminal shares with its DTD (mode 0600); required")(
      "pair", po::bool_switch(&config.pair),
      "make a new pairing key in --pairing-file (which must not exist), show its code for `dtd-agent --pair`, exit")(
      "device-key", po::value(&config.device_key_file),
      "this terminal's Ed25519 device key (mode 0600); required. On a hardware terminal it lives in its secure element")(
      "init-device-key", po::bool_switch(&config.init_device_key),
      "make a new device key in --device-key (which must not exist), print its public key for `adsctl terminal enrol`, exit")(
      "print-device-key", po::bool_switch(&config.print_device_key), "print the public key of --device-key, exit");
  cli::add_log_options(cl.options(), *log);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) {
    *exit_code = *stop;
    return std::nullopt;
  }
  auto usage = [&](const std::string& message) {
    *exit_code = cl.usage_error(message);
    return std::nullopt;
  };
  if (config.init_device_key || config.print_device_key) {
    if (config.init_device_key && config.print_device_key) return usage("give one of --init-device-key or --print-device-key");
    if (config.device_key_file.empty()) return usage("--device-key PATH is required");
    return config;
  }
  if (config.pairing_file.empty()) return usage("--pairing-file PATH is required (make one with --pair)");
  if (config.pair) return config;
  if (config.device_key_file.empty())
    return usage("--device-key PATH is required (make one with --init-device-key and have the issuer enrol it)");
  if (vm.count("dtd") == vm.count("dtd-tty")) return usage("give exactly one of --dtd HOST:PORT or --dtd-tty PATH");
  if (vm.count("dtd")) {
    auto ep = net::parse_endpoint(dtd);
    if (!ep) return usage("--dtd: " + ep.error().message);
    if (ep->port == 0) return usage("--dtd: port 0 is not a DTD address");
    config.dtd = *ep;
  }
  if (card_timeout_s <= 0 || card_timeout_s > 86'400) return usage("--card-timeout-s must be 1..86400");
  if (response_timeout_ms <= 0 || response_timeout_ms > 3'600'000)
    return usage("--response-timeout-ms must be 1..3600000");
  if (idle_timeout_s <= 0 || idle_timeout_s > 86'400) return usage("--idle-timeout-s must be 1..86400");
  if (vm.count("echo-test")) {
    if (echo.empty() || echo.size() > proto::kMaxPlaintext) return usage("--echo-test needs a non-empty TEXT");
    config.echo_text = echo;
  }
  config.keypad_script = keypad;
  config.card_timeout = std::chrono::seconds{card_timeout_s};
  config.response_timeout = std::chrono::milliseconds{response_timeout_ms};
  config.idle_timeout = std::chrono::seconds{idle_timeout_s};
  return config;
}

// --pair: a new random pairing key in a 0600 file, its code on the display (and only there: the code
// is the key, so it is never logged).
int make_pairing(const Config& config) {
  auto display = make_console_display();
  const SecretBytes key = crypto::random_secret(proto::kPairingKeySize);
  if (auto made = proto::create_pairing_file(config.pairing_file, key); !made)
    return refuse(*display, "pairing not made", made.error().message);
  spdlog::info("new pairing key written to {}; its code is on the display", config.pairing_file);
  display->show("Pairing code: " + proto::pairing_code(key));
  display->show("Type this code at the shop PC: dtd-agent --pair CODE --pairing-file PATH");
  return kExitOk;
}

// --init-device-key / --print-device-key: the public key goes to stdout (it is public: the issuer
// enrols it with `adsctl terminal enrol --public-key`); the private key never leaves the file.
int device_key_command(const Config& config) {
  if (config.init_device_key) {
    auto made = proto::create_device_key_file(config.device_key_file);
    if (!made) {
      std::cerr << "ste-firmware: device key not made: " << made.error().message << "\n";
      return kExitRefused;
    }
    spdlog::info("new device key written to {}", config.device_key_file);
    std::cout << proto::device_key_hex(*made) << "\n";
    std::cerr << "ste-firmware: enrol this terminal at the issuer: adsctl terminal enrol --retailer SERIAL "
                 "--public-key "
              << proto::device_key_hex(*made) << "\n";
    return kExitOk;
  }
  auto device = proto::load_device_key_file(config.device_key_file);
  if (!device) {
    std::cerr << "ste-firmware: " << device.error().message << "\n";
    return kExitRefused;
  }
  std::cout << proto::device_key_hex((*device)->public_key()) << "\n";
  return kExitOk;
}

int run_with(Config config) {
  if (config.init_device_key || config.print_device_key) return device_key_command(config);
  if (config.pair) return make_pairing(config);
  std::unique_ptr<Keypad> keypad;
  if (config.keypad_script.empty()) {
    keypad = make_tty_keypad();
  } else {
    auto script = make_script_keypad(config.keypad_script);
    if (!script) {
      std::cerr << "ste-firmware: --keypad-script: " << script.error().message << "\n";
      return kExitUsage;
    }
    keypad = std::move(script).value();
  }
  auto display = make_console_display();

  net::asio::io_context io;
  net::asio::thread_pool blocking(1);  // the card reader and keypad work (see top)
  int exit_code = kExitRefused;
  net::asio::co_spawn(io, run_terminal(std::move(config), display.get(), keypad.get(), &blocking),
                      [&exit_code](std::exception_ptr error, int code) { on_done(&exit_code, error, code); });
  io.run();
  blocking.join();
  spdlog::info("ste-firmware exiting with code {}", exit_code);
  return exit_code;
}

int run(int argc, char** argv) {
  cli::LogOptions log;
  int exit_code = kExitUsage;
  auto config = parse(argc, argv, &log, &exit_code);
  if (!config) return exit_code;
  return cli::run_logged("ste-firmware", log, last_hardening_report(),
                         [&config] { return run_with(std::move(*config)); });
}

}  // namespace
}  // namespace cardperso::ste

int main(int argc, char** argv) {
  // The STE holds the PIN and the retailer card's session keys: a small secure heap is plenty.
  cardperso::harden_process({.secure_heap_bytes = 256 * 1024, .secure_heap_min_block = 16});
  return cardperso::ste::run(argc, argv);
}
