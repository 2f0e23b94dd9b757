#pragma once
// One secure session of the terminal: proto::SteHandshake driven over the framed DTD link. The core
// decides, this adapter moves frames, shows progress on the display, runs the clock (timeouts from
// the core's deadline() and a per-read response timeout) and maps refusals to the display texts of
// the process contract ("Refused: <reason>"). What the display shows also goes to the DTD as a
// TerminalStatus code (SessionOptions::status). The customer flow's card reader and keypad work,
// which blocks, runs on SessionOptions::blocking_pool so the link stays served meanwhile.
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "cardperso/net/asio.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/terminal_identity.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/perso_flow.hpp"
#include "cardperso/ste/retailer_card.hpp"
#include "cardperso/ste/status_reporter.hpp"

namespace cardperso::ste {

struct SessionOptions {
  // The longest the terminal waits for any answer from the DTD/ADS (the handshake, and within a card).
  std::chrono::milliseconds response_timeout{30'000};
  // With a customer flow: the longest the signed-on terminal waits for the shop's next customer (the
  // next Decision, or Terminate), after the session is up and after each card. A clerk fills in a
  // form at the PC first. The core's idle timeout (timeouts.idle) must not be shorter.
  std::chrono::milliseconds idle_timeout{900'000};
  // With a text: once established, send a sealed Echo on channel 1 and wait for it back.
  std::optional<std::string> echo_text;
  // Without an echo text: once established, serve the ADS's per-card messages with this flow until
  // the ADS ends the session (Terminate). Null: terminate right after establishment.
  CustomerCardFlow* customer_flow = nullptr;
  // Runs the customer flow's blocking work (card reader waits, keypad, the script's APDUs) while the
  // session waits; null: on the session's own thread, with the link unserved meanwhile.
  boost::asio::thread_pool* blocking_pool = nullptr;
  // Where the session's own prompts go (session_ended, refused); null: nowhere. The flow reports
  // through its own (ready, the card's prompts).
  StatusReporter* status = nullptr;
  proto::Timeouts timeouts{};
  proto::RandomSource random = proto::default_random_source();
  // The key shared with the DTD (--pairing-file): L1 is sealed under it.
  SecretBytes pairing_key;
  // This terminal's device key (--device-key): H3 carries its signature of the transcript.
  proto::DeviceSigner device;
};

struct SessionOutcome {
  bool ok = false;
  std::string refusal;  // the contract's reason, shown as "Refused: <refusal>"; empty when ok
  std::string detail;   // for the log; never a secret
};

// The display reason for a refusal code (of an Error message or a Close). The code alone decides: a
// peer's free text is logged, never interpreted, so no text can make the display say something else.
std::string refusal_reason(proto::ErrorCode code);

// SteHello on channel 0; waits up to `wait` for LinkHelloAck. An Error or a closed link refuses; a
// DTD that stays silent is tolerated (its ack, if any, is skipped later by the session).
net::asio::awaitable<SessionOutcome> greet_dtd(net::FramedStream link, std::string node_id, std::chrono::milliseconds wait);

// Runs `work` on `pool` while the calling coroutine waits, and resumes it on its own executor; the
// io thread stays free for the link meanwhile. Without a pool, runs it in place. Exceptions pass.
net::asio::awaitable<void> run_blocking(boost::asio::thread_pool* pool, std::function<void()> work);

class SteSession {
 public:
  SteSession(net::FramedStream link, Display& display, SessionOptions options);

  // Runs the handshake with the card's credentials (moved in, erased when the session ends), the
  // optional echo test, then Terminate. Shows "Session ended" or "Refused: <reason>".
  net::asio::awaitable<SessionOutcome> run(RetailerCredentials credentials);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace cardperso::ste
