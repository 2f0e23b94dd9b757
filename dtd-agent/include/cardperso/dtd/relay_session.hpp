#pragma once
// The DTD agent's core loop: one proto::DtdRelay between the current STE link and the ADS link.
//
// Channel-1 frames pass unchanged both ways; the L1 handover gives the DTD SK_D, after which it may
// talk to the ADS on channel 2 (with an echo text: a sealed Echo, checked when it comes back). The
// ADS link is kept up by its own loop (reconnect with backoff over the --ads addresses in order of
// preference, moving an idle link back to a preferred one: ads_failover.hpp; keepalives, the dead-link timeout and
// the session slot are proto::DtdLinkCore); STE links come and go, one at a time. stop() is a
// net::StopSignal request: it cuts a reconnect sleep short and closes both links, which ends their reads. When either side goes away mid-session the session is ended
// towards the other side (sealed Terminate or Error) and the reason logged.
//
// Threading: the agent runs its io_context on one thread; the STE and ADS coroutines share this
// object without locks because they never run at the same time.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/dtd/ads_failover.hpp"
#include "cardperso/dtd/ads_link.hpp"
#include "cardperso/dtd/customer_desk.hpp"
#include "cardperso/dtd/relay_metrics.hpp"
#include "cardperso/net/framed_stream.hpp"
#include "cardperso/net/stop_signal.hpp"
#include "cardperso/proto/dtd_link_core.hpp"
#include "cardperso/proto/dtd_relay.hpp"
#include "cardperso/proto/terminal_status.hpp"

namespace cardperso::dtd {

struct RelayOptions {
  AdsLinkOptions ads;
  SecretBytes pairing_key;                               // --pairing-file: shared with the terminal
  std::optional<std::string> echo_text;                  // --echo-test
  // The retailer's personalisation requests, played over channel 2 once the DTD holds SK_D; null:
  // relay only. on_all_served runs once the last one is done and the session ended (--exit-after-last).
  std::shared_ptr<CustomerDesk> desk;
  std::function<void()> on_all_served;
  // dtd-agent --metrics-listen; null: none. Must outlive the session.
  RelayMetrics* metrics = nullptr;
  // The links and the session as they are now, whenever they may have changed (the web console).
  std::function<void(const RelayLevels&)> on_levels;
  std::chrono::milliseconds keepalive_interval{10'000};  // Keepalive to the ADS after this much silence
  std::chrono::milliseconds ads_link_timeout{45'000};    // nothing from the ADS this long: reconnect
  // Each TerminalStatus the STE sends (what its display shows, as a code), called on the io thread;
  // null: ignored. Never forwarded to the ADS; a malformed one is logged and dropped.
  std::function<void(const proto::TerminalStatus&)> on_terminal_status;
};

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(net::asio::any_io_executor executor, RelayOptions options);

  // Starts the ADS link loop (connect, hello, relay, reconnect) until stop().
  void start();
  // Serves one STE connection until it ends. While one STE is connected another is refused (Busy).
  static net::asio::awaitable<void> serve_ste(std::shared_ptr<RelaySession> self, net::FramedStream stream);
  // Ends a session in progress (sealed Terminate to the ADS), closes both links, then on_stopped.
  void stop(std::function<void()> on_stopped = {});

  // The retailer's console (the desk in open mode; call on the io thread): queues a request and returns
  // its number, sending it at once when the session is idle; end_session ends the session once no
  // request is in progress.
  std::size_t submit(CustomerRequest request);
  void end_session();

  bool stopping() const { return stop_->requested(); }
  const std::shared_ptr<net::StopSignal>& stop_signal() const { return stop_; }
  bool ads_connected() const { return ads_.has_value(); }
  bool ste_connected() const { return ste_.has_value(); }
  bool echo_ok() const { return echo_ok_; }
  std::size_t sessions_relayed() const { return sessions_relayed_; }
  std::size_t sessions_ended() const { return sessions_ended_; }
  // The STE's latest TerminalStatus on its current link (none before the first, or once it is gone).
  const std::optional<proto::TerminalStatus>& terminal_status() const { return terminal_status_; }
  // Which of the --ads addresses the link uses, and how often it failed over / back.
  const AdsFailover& ads_failover() const { return failover_; }
  const net::asio::any_io_executor& executor() const { return executor_; }

 private:
  static net::asio::awaitable<void> ads_loop(std::shared_ptr<RelaySession> self);
  static net::asio::awaitable<void> shutdown(std::shared_ptr<RelaySession> self, std::function<void()> on_stopped);
  net::asio::awaitable<void> serve_ads(net::FramedStream stream);
  // The link came up on failover_.linked(): metrics, and the fail-back loop when it is not the most
  // preferred address.
  void ads_linked(bool failover, bool failback);
  // While the link runs on a less preferred address: every fail-back period, with no session open,
  // probes the more preferred ones and moves the link to the first that answers (failback_link_).
  static net::asio::awaitable<void> failback_loop(std::shared_ptr<RelaySession> self, std::uint64_t generation);
  bool session_open() const;
  net::asio::awaitable<void> from_ste(proto::Frame frame);
  net::asio::awaitable<void> from_ads(proto::Frame frame);
  net::asio::awaitable<void> carry_out(proto::Actions actions);
  net::asio::awaitable<proto::Actions> carry_out_one(proto::Action& action);
  net::asio::awaitable<void> on_link_message(const proto::LinkMessage& message);
  // A TerminalStatus from the STE: kept (the latest only) and handed to options_.on_terminal_status.
  void take_terminal_status(const proto::Frame& frame);
  // The desk's messages sealed on channel 2, and its Terminate after the last request.
  proto::Actions desk_actions(DeskStep step);
  // The links, the session and the desk's queue as they are now, to the metrics (if any).
  void report_levels();
  // The console's desk steps, produced outside a frame handler.
  void carry_out_later(proto::Actions actions);
  static net::asio::awaitable<void> carry_out_spawned(std::shared_ptr<RelaySession> self, proto::Actions actions);
  // Gives the ADS's Terminate time to reach the STE before on_all_served closes the links.
  static net::asio::awaitable<void> all_served(std::shared_ptr<RelaySession> self);
  net::asio::awaitable<void> to_ads(const proto::Frame& frame);
  net::asio::awaitable<void> to_ste(const proto::Frame& frame);
  // The STE or the ADS is gone (or the agent stops): end the session towards the other side.
  net::asio::awaitable<void> end_session_for(const std::string& why, bool ads_reachable);

  net::asio::any_io_executor executor_;
  RelayOptions options_;
  proto::DtdRelay relay_;
  std::optional<net::FramedStream> ads_;
  AdsFailover failover_;
  std::uint64_t ads_generation_ = 0;                 // one per ADS link served
  std::optional<net::FramedStream> failback_link_;   // a more preferred ADS that answered, to serve next
  std::optional<net::FramedStream> ste_;
  std::uint64_t ste_generation_ = 0;
  bool ste_hello_done_ = false;
  // The ADS link's keepalive and timeout, and the session in flight (0 after an H1 went to the ADS,
  // the session id once its H2 came back).
  proto::DtdLinkCore link_;
  // Requested when the current STE link closes (all_served waits for it).
  std::shared_ptr<net::StopSignal> ste_gone_ = std::make_shared<net::StopSignal>();
  std::string close_reason_;  // replaces the relay's reason in the next "session ended" log line
  std::shared_ptr<net::StopSignal> stop_ = std::make_shared<net::StopSignal>();
  // When the current request's CustomerDetails went to the ADS (for the metrics' request latency).
  std::optional<std::chrono::steady_clock::time_point> request_sent_at_;
  bool echo_ok_ = false;
  std::size_t sessions_relayed_ = 0;
  std::size_t sessions_ended_ = 0;
  std::optional<proto::TerminalStatus> terminal_status_;  // only the latest: nothing grows
};

}  // namespace cardperso::dtd
