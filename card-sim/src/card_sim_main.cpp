// card-sim: a virtual SIM in a vpcd reader. Connects to vpcd (connecting = card inserted), answers
// vpcd with the card engine, saves the image after every change, and takes `remove`, `insert` and
// `quit` on stdin. Events go to stdout, one per line, so tests and scripts can wait for them.
//
// I/O is a plain poll() loop, not Asio: there is one connection, one stdin and one signal fd, and
// the only timer is the optional answer delay. A single-threaded loop makes the order of "card
// pulled" vs "answer sent" explicit, which the removal tests depend on.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/log_options.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/logging.hpp"
#include "vpcd_link.hpp"

namespace po = boost::program_options;
using namespace cardperso;
using namespace cardperso::cardsim;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string image_path;
  VpcdEndpoint endpoint;
  cli::LogOptions log;
  std::chrono::milliseconds apdu_delay{0};
  std::chrono::milliseconds connect_timeout{10000};
  std::optional<std::uint64_t> remove_after_apdus;  // pull the card when APDU N+1 arrives, once
};

void event(const std::string& what) {
  std::cout << what << std::endl;  // flushed: a test is waiting for this line
}

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options options;
  int port = 35963;
  int delay_ms = 0;
  long long remove_after = -1;
  double connect_timeout_s = 10;
  cli::CommandLine cl({.name = "card-sim",
                       .usage = "--image PATH [options]",
                       .description = "A virtual SIM or retailer card plugged into pcscd through the vpcd driver.\n"
                                      "stdin commands: remove | insert | quit\n"
                                      "stdout events: inserted | removed | quit"});
  cl.options().add_options()(
      "image", po::value(&options.image_path)->required(), "card image file (JSON); rewritten after every change")(
      "vpcd-host", po::value(&options.endpoint.host)->default_value("127.0.0.1"), "host where vpcd listens")(
      "vpcd-port", po::value(&port)->default_value(35963), "vpcd port (35963 = reader 'Virtual PCD 00 00', 35964 = '00 01')")(
      "apdu-delay-ms", po::value(&delay_ms)->default_value(0), "delay every APDU answer (to test removal mid-exchange)")(
      "connect-timeout", po::value(&connect_timeout_s)->default_value(10), "seconds to keep retrying the connection to vpcd")(
      "remove-after-apdus", po::value(&remove_after),
      "answer N APDUs, then pull the card when the next one arrives, before executing it (once; "
      "`insert` puts it back): a deterministic pull mid-script");
  cli::add_log_options(cl.options(), options.log);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) {
    exit_code = *stop;
    return std::nullopt;
  }
  if (port <= 0 || port > 65535 || delay_ms < 0 || delay_ms > 600000 || connect_timeout_s < 0 ||
      connect_timeout_s > 3600 || (vm.count("remove-after-apdus") && (remove_after < 0 || remove_after > 1000000))) {
    exit_code = cl.usage_error("--vpcd-port must be 1..65535, --apdu-delay-ms 0..600000, --connect-timeout 0..3600, "
                               "--remove-after-apdus 0..1000000");
    return std::nullopt;
  }
  options.endpoint.port = static_cast<std::uint16_t>(port);
  options.apdu_delay = std::chrono::milliseconds(delay_ms);
  if (vm.count("remove-after-apdus")) options.remove_after_apdus = static_cast<std::uint64_t>(remove_after);
  options.connect_timeout = std::chrono::milliseconds(static_cast<long>(connect_timeout_s * 1000));
  return options;
}

class Program {
 public:
  Program(Options options, SimCard card) : options_(std::move(options)), card_(std::move(card)) {}

  int run(int signal_fd) {
    if (!insert()) return cli::kExitFailed;
    bool stdin_open = true;
    std::string stdin_buffer;
    for (;;) {
      pollfd fds[3] = {{signal_fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {-1, POLLIN, 0}};
      // While an answer is held back (--apdu-delay-ms) vpcd waits for it and sends nothing else,
      // and reading on would reorder messages; the socket is left alone until the answer is out.
      if (link_.connected() && !held_apdu_) fds[2].fd = link_.fd();
      int timeout_ms = -1;
      if (held_apdu_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(held_until_ - Clock::now()).count();
        timeout_ms = static_cast<int>(std::max<long>(0, left));
      }
      int rc = ::poll(fds, 3, timeout_ms);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) {
        spdlog::error("poll failed: {}", std::strerror(errno));
        return finish(cli::kExitFailed);
      }
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo info{};
        if (::read(signal_fd, &info, sizeof info) > 0) spdlog::info("signal {} received; saving and exiting", info.ssi_signo);
        return finish(0);
      }
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        char chunk[256];
        ssize_t n = ::read(0, chunk, sizeof chunk);
        if (n <= 0) {
          stdin_open = false;  // keep serving the card; only a signal or `quit` ends the program
        } else {
          stdin_buffer.append(chunk, static_cast<std::size_t>(n));
          if (stdin_buffer.size() > 4096) stdin_buffer.clear();  // no command is that long
          std::size_t eol;
          while ((eol = stdin_buffer.find('\n')) != std::string::npos) {
            std::string line = stdin_buffer.substr(0, eol);
            stdin_buffer.erase(0, eol + 1);
            if (auto code = command(line)) return finish(*code);
          }
        }
      }
      if (held_apdu_ && Clock::now() >= held_until_) {
        VpcdMessage message = std::move(*held_apdu_);
        held_apdu_.reset();
        if (!answer(message)) continue;
        if (!drain()) continue;
      }
      if (fds[2].fd >= 0 && link_.connected() && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (auto received = link_.receive(); !received) {
          lost_connection(received.error().message);
          if (!insert()) return finish(cli::kExitFailed);
          continue;
        }
        drain();
      }
    }
  }

 private:
  // Handles every complete message in the decoder. False when the link broke.
  bool drain() {
    while (link_.connected() && !held_apdu_) {
      auto message = link_.next_message();
      if (!message) {
        lost_connection(message.error().message);
        return false;
      }
      if (!*message) return true;
      if (std::holds_alternative<VpcdApdu>(**message)) {
        if (options_.remove_after_apdus && apdus_received_ == *options_.remove_after_apdus) {
          options_.remove_after_apdus.reset();
          spdlog::info("card removed before APDU {} (--remove-after-apdus)", apdus_received_ + 1);
          remove_card();
          return false;
        }
        ++apdus_received_;
      }
      if (options_.apdu_delay.count() > 0 && std::holds_alternative<VpcdApdu>(**message)) {
        held_apdu_ = std::move(**message);
        held_until_ = Clock::now() + options_.apdu_delay;
        return true;
      }
      if (!answer(**message)) return false;
    }
    return link_.connected();
  }

  bool answer(const VpcdMessage& message) {
    VpcdAnswer result = answer_vpcd_message(card_, message);
    if (result.image_changed) save();
    if (result.reply_frame) {
      if (auto sent = link_.send(*result.reply_frame); !sent) {
        lost_connection(sent.error().message);
        return false;
      }
    }
    return true;
  }

  void save() {
    if (auto saved = save_image(options_.image_path, card_.image()); !saved) {
      spdlog::error("{}", saved.error().message);
      event("save-failed");
    }
  }

  void lost_connection(const std::string& why) {
    spdlog::warn("{}", why);
    link_.close();
    held_apdu_.reset();
    card_.power_off();
    event("removed");
  }

  bool insert() {
    if (link_.connected()) return true;
    if (auto connected = link_.connect(options_.endpoint, options_.connect_timeout); !connected) {
      spdlog::error("{}", connected.error().message);
      event("connect-failed");
      return false;
    }
    spdlog::info("card inserted (connected to vpcd at {}:{})", options_.endpoint.host, options_.endpoint.port);
    event("inserted");
    return true;
  }

  std::optional<int> command(std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line == "remove") {
      if (link_.connected()) spdlog::info("card removed");
      remove_card();
    } else if (line == "insert") {
      if (!insert()) return cli::kExitFailed;
    } else if (line == "quit") {
      return 0;
    } else if (!line.empty()) {
      spdlog::warn("unknown command '{}' (use remove, insert or quit)", line);
      event("unknown-command");
    }
    return std::nullopt;
  }

  void remove_card() {
    if (link_.connected()) {
      link_.close();
      held_apdu_.reset();  // the card is gone before it could answer
      card_.power_off();
    }
    event("removed");
  }

  int finish(int code) {
    link_.close();
    save();
    event("quit");
    return code;
  }

  Options options_;
  SimCard card_;
  VpcdLink link_;
  std::optional<VpcdMessage> held_apdu_;
  Clock::time_point held_until_{};
  std::uint64_t apdus_received_ = 0;  // since the program started, over every insertion
};

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto options = parse_options(argc, argv, exit_code);
  if (!options) return exit_code;
  init_logging("card-sim", options->log.level, options->log.file, options->log.format);

  auto image = load_image(options->image_path);
  if (!image) {
    spdlog::error("{}", image.error().message);
    return cli::kExitFailed;
  }
  // SIGTERM/SIGINT arrive through a signalfd in the poll loop, so the image is saved in a normal
  // code path rather than in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) {
    spdlog::error("signalfd failed: {}", std::strerror(errno));
    return cli::kExitFailed;
  }
  ::signal(SIGPIPE, SIG_IGN);
  Program program(*options, SimCard(std::move(*image)));
  return program.run(signal_fd);
}
