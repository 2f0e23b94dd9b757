#include "cardperso/dtd/relay_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cardperso/net/action_queue.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::dtd {

namespace asio = net::asio;
using proto::Channel;
using proto::ErrorCode;
using proto::MessageType;
using Clock = proto::Clock;
using std::chrono::milliseconds;

namespace {

bool is_type(const proto::Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }
bool is_clear(const proto::Frame& f) { return (f.header.flags & proto::kFlagSealed) == 0; }

proto::Frame error_frame(Channel channel, std::uint32_t session, ErrorCode code, std::string_view text) {
  return proto::make_frame(channel, session, proto::ErrorMessage::make(code, text));
}

std::string describe_error(const proto::Frame& frame) {
  auto err = proto::ErrorMessage::decode(frame.payload);
  if (!err) return "malformed Error message";
  return fmt::format("{} ({})", err->text, proto::describe(err->code));
}

// Only bounds a read: the STE link is ended by its peer, a stop or a failed write, never by silence.
constexpr milliseconds kSteReadTimeout{60'000};

// What the STE is told when its session cannot reach the ADS (its display shows "ADS unreachable").
constexpr std::string_view kAdsUnreachable = "ADS unreachable";

}  // namespace

RelaySession::RelaySession(asio::any_io_executor executor, RelayOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      failover_(failover_options(options_.ads)),
      link_(options_.keepalive_interval, options_.ads_link_timeout) {
  relay_.pair(options_.pairing_key);
  options_.pairing_key.wipe();  // the relay core holds the one copy
}

void RelaySession::start() {
  report_levels();  // the queue of requests shows before the first session
  asio::co_spawn(executor_, ads_loop(shared_from_this()), asio::detached);
}

void RelaySession::stop(std::function<void()> on_stopped) {
  asio::co_spawn(executor_, shutdown(shared_from_this(), std::move(on_stopped)), asio::detached);
}

asio::awaitable<void> RelaySession::shutdown(std::shared_ptr<RelaySession> self, std::function<void()> on_stopped) {
  if (!self->stop_->requested()) {
    self->stop_->request();
    co_await self->end_session_for("DTD agent shutting down", self->ads_.has_value());
    if (self->ads_) self->ads_->close();
    if (self->ste_) self->ste_->close();
  }
  if (on_stopped) on_stopped();
}

// ---- ADS link ------------------------------------------------------------------------------------

asio::awaitable<void> RelaySession::ads_loop(std::shared_ptr<RelaySession> self) {
  while (!self->stopping()) {
    if (self->failback_link_) {
      // A more preferred ADS answered while the link was idle: serve it instead.
      net::FramedStream moved = std::move(*self->failback_link_);
      self->failback_link_.reset();
      if (self->stopping()) {
        moved.close();
        break;
      }
      spdlog::info("connected to ADS at {}", self->failover_.address(*self->failover_.linked()).to_string());
      self->ads_linked(false, true);
      co_await self->serve_ads(std::move(moved));
      continue;
    }
    std::function<void(bool)> on_attempt;
    if (auto* metrics = self->options_.metrics)
      on_attempt = [metrics](bool connected) { metrics->ads_connect_attempt(connected); };
    const auto failovers_before = self->failover_.failovers();
    auto link = co_await connect_ads_link(self->options_.ads, self->failover_, self->stop_, std::move(on_attempt));
    if (!link) break;
    if (self->stopping()) {
      link->close();
      break;
    }
    self->ads_linked(self->failover_.failovers() != failovers_before, false);
    co_await self->serve_ads(std::move(link).value());
  }
}

void RelaySession::ads_linked(bool failover, bool failback) {
  const auto index = *failover_.linked();
  if (options_.metrics != nullptr)
    options_.metrics->ads_linked(index, failover_.address(index).to_string(), failover, failback);
  if (failover_.failback_due())
    asio::co_spawn(executor_, failback_loop(shared_from_this(), ads_generation_ + 1), asio::detached);
}

bool RelaySession::session_open() const {
  return relay_.state() == proto::DtdRelay::State::Established || link_.in_flight().has_value();
}

asio::awaitable<void> RelaySession::failback_loop(std::shared_ptr<RelaySession> self, std::uint64_t generation) {
  auto& failover = self->failover_;
  auto same_link = [&] { return !self->stopping() && self->ads_ && self->ads_generation_ == generation; };
  for (;;) {
    const auto due = failover.failback_due();
    if (!due) co_return;
    const auto now = AdsFailover::Clock::now();
    if (*due > now)
      co_await net::sleep_unless_stopped(std::chrono::ceil<milliseconds>(*due - now), self->stop_);
    if (!same_link()) co_return;
    const auto candidates = failover.failback_candidates(AdsFailover::Clock::now(), self->session_open());
    if (candidates.empty()) continue;  // a session is open (or not due yet): a period later
    bool moved = false;
    for (const auto index : candidates) {
      AdsLinkOptions attempt = self->options_.ads;
      attempt.ads = failover.address(index);
      auto probe = co_await open_ads_link(attempt);
      if (!probe) {
        spdlog::debug("fail-back: the ADS at {} is still unreachable: {}", attempt.ads.to_string(),
                      probe.error().message);
        continue;
      }
      // The probe took a while: the link may be gone, or a session may have opened on it meanwhile.
      if (!same_link() || self->session_open()) {
        probe->close();
        break;
      }
      spdlog::info("failing back to the ADS at {} (from {}; no session open)", attempt.ads.to_string(),
                   failover.address(*failover.linked()).to_string());
      failover.failed_back(index, AdsFailover::Clock::now());
      self->failback_link_ = std::move(*probe);
      // Closing the current link ends serve_ads's read; ads_loop then serves failback_link_.
      self->ads_->close();
      moved = true;
      break;
    }
    if (moved || !same_link()) co_return;
    failover.failback_failed(AdsFailover::Clock::now());
  }
}

asio::awaitable<void> RelaySession::serve_ads(net::FramedStream stream) {
  ads_ = stream;
  ++ads_generation_;
  link_.opened(Clock::now());
  report_levels();
  std::string why;
  for (;;) {
    if (stopping()) co_return;
    const auto tick = link_.on_tick(Clock::now());
    if (const auto* down = proto::find_action<proto::LinkDown>(tick)) {
      why = down->why;
      break;
    }
    if (const auto* keepalive = proto::find_action<proto::SendFrame>(tick)) co_await to_ads(keepalive->frame);
    // A stop closes the stream, which ends this read.
    auto frame = co_await stream.read_frame(proto::wait_until(link_.deadline(), Clock::now()));
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      why = frame.error().message;
      break;
    }
    link_.on_received(Clock::now());
    co_await from_ads(std::move(*frame));
  }
  stream.close();
  ads_.reset();
  report_levels();
  if (stopping()) co_return;
  if (failback_link_) {
    // Moved on purpose with no session open; a handshake the STE began in the instant of the move is
    // ended like on a lost link (the STE is told, its request waits in the desk for the next session).
    co_await end_session_for("ADS link moved to a preferred ADS", false);
    co_return;
  }
  failover_.link_lost();
  spdlog::warn("ADS link lost: {}; reconnecting", why);
  co_await end_session_for("ADS link lost", false);
}

asio::awaitable<void> RelaySession::from_ads(proto::Frame frame) {
  if (frame.header.channel == Channel::SteAds && is_clear(frame)) {
    if (is_type(frame, MessageType::H2) && frame.header.session != 0) {
      link_.h2_received(frame.header.session);
      spdlog::debug("session {}: H2 relayed to the STE", frame.header.session);
    } else if (is_type(frame, MessageType::Error)) {
      const auto session = frame.header.session;
      if (session != 0)
        spdlog::info("session {} ended: refused by the ADS: {}", session, describe_error(frame));
      else
        spdlog::info("handshake refused by the ADS: {}", describe_error(frame));
      link_.refused(session);
      ++sessions_ended_;
    }
  }
  co_await carry_out(relay_.on_ads_frame(std::move(frame)));
}

// ---- STE link ------------------------------------------------------------------------------------

asio::awaitable<void> RelaySession::serve_ste(std::shared_ptr<RelaySession> self, net::FramedStream stream) {
  if (self->ste_) {
    spdlog::warn("refusing an STE link from {}: another STE is connected", stream.peer());
    const auto busy = error_frame(Channel::LinkControl, 0, ErrorCode::Busy, "another STE is connected to this DTD");
    (void)co_await stream.write_frame(busy.header, busy.payload);
    stream.close();
    co_return;
  }
  if (self->stopping()) {
    stream.close();
    co_return;
  }
  self->ste_ = stream;
  self->ste_gone_ = std::make_shared<net::StopSignal>();
  self->ste_hello_done_ = false;
  const std::uint64_t generation = ++self->ste_generation_;
  self->report_levels();
  spdlog::info("STE link open: {}", stream.peer());
  std::string why;
  for (;;) {
    if (self->stopping()) break;
    // The STE link has no timer of its own; a stop closes the stream, which ends this read.
    auto frame = co_await stream.read_frame(kSteReadTimeout);
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      why = frame.error().message;
      break;
    }
    co_await self->from_ste(std::move(*frame));
  }
  stream.close();
  if (self->ste_generation_ != generation) co_return;
  self->ste_.reset();
  self->ste_gone_->request();
  self->ste_hello_done_ = false;
  self->terminal_status_.reset();
  self->report_levels();
  if (self->stopping()) co_return;
  spdlog::info("STE link closed: {}", why);
  co_await self->end_session_for("STE link lost", self->ads_.has_value());
}

asio::awaitable<void> RelaySession::from_ste(proto::Frame frame) {
  if (frame.header.channel == Channel::SteAds) {
    if (!ste_hello_done_) {
      co_await to_ste(error_frame(Channel::LinkControl, 0, ErrorCode::UnexpectedMessage,
                                  "send SteHello before any channel-1 frame"));
      co_return;
    }
    if (is_type(frame, MessageType::H1) && is_clear(frame)) {
      if (!ads_) {
        spdlog::warn("H1 from the STE refused: the ADS link is down");
        co_await to_ste(error_frame(Channel::SteAds, 0, ErrorCode::AdsUnreachable, kAdsUnreachable));
        co_return;
      }
      link_.h1_sent();
    }
  }
  co_await carry_out(relay_.on_ste_frame(std::move(frame)));
}

// ---- actions -------------------------------------------------------------------------------------

asio::awaitable<void> RelaySession::carry_out(proto::Actions actions) {
  co_await net::carry_out_in_order(std::move(actions), [this](proto::Action& action) { return carry_out_one(action); });
  report_levels();  // a session established or ended, a request served
}

void RelaySession::report_levels() {
  if (options_.metrics == nullptr && !options_.on_levels) return;
  const RelayLevels now{.ads_link_up = ads_.has_value(),
                        .ste_link_up = ste_.has_value(),
                        .retailer_signed_on = relay_.state() == proto::DtdRelay::State::Established,
                        .requests_waiting = options_.desk ? options_.desk->waiting() : 0};
  if (options_.metrics != nullptr) options_.metrics->levels(now);
  if (options_.on_levels) options_.on_levels(now);
}

std::size_t RelaySession::submit(CustomerRequest request) {
  auto step = options_.desk->enqueue(std::move(request));
  const std::size_t id = options_.desk->size();
  carry_out_later(desk_actions(std::move(step)));
  return id;
}

void RelaySession::end_session() { carry_out_later(desk_actions(options_.desk->end_session())); }

void RelaySession::carry_out_later(proto::Actions actions) {
  // Sealed now, in order with the frame handlers' sendings; written from the executor like theirs.
  asio::co_spawn(executor_, carry_out_spawned(shared_from_this(), std::move(actions)), asio::detached);
}

asio::awaitable<void> RelaySession::carry_out_spawned(std::shared_ptr<RelaySession> self, proto::Actions actions) {
  co_await self->carry_out(std::move(actions));
}

asio::awaitable<proto::Actions> RelaySession::carry_out_one(proto::Action& action) {
  proto::Actions more;
  if (auto* send = std::get_if<proto::SendFrame>(&action)) {
    // The relay core's channel-1 frames are the peers' own, passed on unchanged (its own go on 0 and 2).
    if (options_.metrics != nullptr && send->frame.header.channel == Channel::SteAds)
      options_.metrics->frame_relayed(send->to == proto::Peer::Ads ? RelayDirection::SteToAds : RelayDirection::AdsToSte);
    if (send->to == proto::Peer::Ads)
      co_await to_ads(send->frame);
    else
      co_await to_ste(send->frame);
  } else if (auto* established = std::get_if<proto::SessionEstablished>(&action)) {
    ++sessions_relayed_;
    if (options_.metrics != nullptr) options_.metrics->session_relayed();
    spdlog::info("session {} relayed: retailer {}, DTD holds SK_D", established->session, established->serial);
    if (options_.echo_text) {
      const auto text = view(*options_.echo_text);
      more = relay_.send(MessageType::Echo, text);
    }
    if (options_.desk)
      for (auto& a : desk_actions(options_.desk->on_established())) more.push_back(std::move(a));
  } else if (auto* deliver = std::get_if<proto::Deliver>(&action)) {
    if (options_.desk && deliver->type != MessageType::Echo) {
      more = desk_actions(options_.desk->on_message(deliver->type, deliver->plaintext.view()));
    } else if (deliver->type == MessageType::Echo && options_.echo_text) {
      const auto expected = view(*options_.echo_text);
      const auto got = deliver->plaintext.view();
      if (std::equal(got.begin(), got.end(), expected.begin(), expected.end())) {
        echo_ok_ = true;
        spdlog::info("dtd channel echo ok");
      } else {
        spdlog::warn("dtd channel echo came back different ({} bytes, {} expected)", got.size(), expected.size());
      }
    } else {
      spdlog::info("session {}: {} from the ADS on channel 2 ({} bytes) not handled by this agent", relay_.session(),
                   proto::name(deliver->type), deliver->plaintext.size());
    }
  } else if (auto* link = std::get_if<proto::LinkMessage>(&action)) {
    co_await on_link_message(*link);
  } else if (auto* close = std::get_if<proto::Close>(&action)) {
    ++sessions_ended_;
    const std::string reason = close_reason_.empty() ? close->reason : close_reason_;
    close_reason_.clear();
    spdlog::info("session {} ended: {}", relay_.session(), reason);
    link_.session_over();
    if (options_.desk) options_.desk->on_session_ended();
  }
  co_return more;
}

proto::Actions RelaySession::desk_actions(DeskStep step) {
  proto::Actions out;
  // A step may end one request and start the next: the outcome first.
  if (step.served) {
    std::optional<std::chrono::duration<double>> took;
    if (request_sent_at_) took = std::chrono::steady_clock::now() - *request_sent_at_;
    if (options_.metrics != nullptr) options_.metrics->request_served(*step.served, took);
    request_sent_at_.reset();
  }
  for (auto& s : step.send) {
    if (relay_.state() != proto::DtdRelay::State::Established) break;
    for (auto& a : relay_.send(s.type, s.plaintext)) out.push_back(std::move(a));
    // Sent again after a session broke off: the latency counts from the last sending.
    if (s.type == MessageType::CustomerDetails) request_sent_at_ = std::chrono::steady_clock::now();
  }
  if (step.terminate && relay_.state() == proto::DtdRelay::State::Established) {
    close_reason_ = step.ended_by_retailer ? "the retailer ended the session" : "every customer request served";
    for (auto& a : relay_.terminate(ErrorCode::None)) out.push_back(std::move(a));
    if (options_.on_all_served) asio::co_spawn(executor_, all_served(shared_from_this()), asio::detached);
  }
  return out;
}

asio::awaitable<void> RelaySession::all_served(std::shared_ptr<RelaySession> self) {
  // The ADS ends channel 1 on the DTD's Terminate; the STE then closes its link. Wait for that, briefly
  // (a stop closes the STE link too).
  if (self->ste_) co_await net::sleep_unless_stopped(milliseconds(5'000), self->ste_gone_);
  if (!self->stopping() && self->options_.on_all_served) self->options_.on_all_served();
}

asio::awaitable<void> RelaySession::on_link_message(const proto::LinkMessage& message) {
  const auto type = proto::to_message_type(message.frame.header.type);
  if (type == MessageType::Keepalive) co_return;
  if (message.from == proto::Peer::Ads) {
    if (type == MessageType::Error)
      spdlog::warn("the ADS reported on channel {}: {}", static_cast<int>(message.frame.header.channel),
                   describe_error(message.frame));
    else
      spdlog::debug("frame type 0x{:02x} from the ADS on channel 0 ignored", message.frame.header.type);
    co_return;
  }
  if (type == MessageType::SteHello) {
    auto hello = proto::SteHello::decode(message.frame.payload);
    if (!hello) {
      co_await to_ste(error_frame(Channel::LinkControl, 0, ErrorCode::BadFrame, hello.error().message));
      co_return;
    }
    auto ack = proto::negotiate_version(hello->min_version, hello->max_version);
    if (!ack) {
      spdlog::warn("STE {}: {}", hello->node_id, ack.error().message);
      co_await to_ste(error_frame(Channel::LinkControl, 0, ErrorCode::UnsupportedVersion, ack.error().message));
      co_return;
    }
    if (ste_hello_done_) {
      // The STE started over on the same link (a tty outlives the STE process): its old session is gone.
      spdlog::info("STE {} said hello again: ending its previous session", hello->node_id);
      co_await end_session_for("STE restarted", ads_.has_value());
    }
    ste_hello_done_ = true;
    spdlog::info("STE {} connected (protocol version {})", hello->node_id, ack->version);
    co_await to_ste(proto::make_frame(Channel::LinkControl, 0, *ack));
    co_return;
  }
  if (type == MessageType::TerminalStatus) {
    take_terminal_status(message.frame);
    co_return;
  }
  if (type == MessageType::Error) {
    spdlog::warn("the STE reported: {}", describe_error(message.frame));
    co_return;
  }
  co_await to_ste(error_frame(Channel::LinkControl, 0, ErrorCode::UnexpectedMessage,
                              "only SteHello, SessionKeyHandover, TerminalStatus, Keepalive and Error go to the DTD "
                              "on channel 0"));
}

// What the terminal's display shows, for the console: never an answer to the STE (an Error would end
// its session, and the mirror is not worth that), never to the ADS.
void RelaySession::take_terminal_status(const proto::Frame& frame) {
  if (!ste_hello_done_) {
    spdlog::warn("TerminalStatus from the STE before its SteHello dropped");
    return;
  }
  auto status = is_clear(frame) ? proto::TerminalStatus::decode(frame.payload)
                                : Result<proto::TerminalStatus>(fail("TerminalStatus must be sent clear"));
  if (!status) {
    spdlog::warn("malformed TerminalStatus from the STE dropped: {}", status.error().message);
    return;
  }
  spdlog::debug("terminal shows {} ({}/{})", proto::to_string(status->prompt), status->step, status->steps);
  terminal_status_ = *status;
  if (options_.on_terminal_status) options_.on_terminal_status(*status);
}

asio::awaitable<void> RelaySession::to_ads(const proto::Frame& frame) {
  if (!ads_) {
    // The ADS link is down: a channel-1 frame of a session cannot arrive, so the STE learns it now.
    if (frame.header.channel == Channel::SteAds && !is_type(frame, MessageType::Error) && ste_)
      co_await to_ste(error_frame(Channel::SteAds, frame.header.session, ErrorCode::AdsUnreachable, kAdsUnreachable));
    else
      spdlog::debug("frame type 0x{:02x} for the ADS dropped: no ADS link", frame.header.type);
    co_return;
  }
  auto stream = *ads_;  // a copy: the link may be replaced while this write waits
  auto written = co_await stream.write_frame(frame.header, frame.payload);
  if (!written) {
    spdlog::warn("write to the ADS failed: {}", written.error().message);
    stream.close();  // the ADS loop notices, ends the session and reconnects
    co_return;
  }
  link_.on_sent(Clock::now());
}

asio::awaitable<void> RelaySession::to_ste(const proto::Frame& frame) {
  if (!ste_) {
    // The STE is gone: a session the ADS is still running for it must end there too.
    if (frame.header.channel == Channel::SteAds && frame.header.session != 0 && !is_type(frame, MessageType::Error) &&
        ads_) {
      spdlog::info("session {}: frame from the ADS with no STE connected; ending the session", frame.header.session);
      co_await to_ads(error_frame(Channel::SteAds, frame.header.session, ErrorCode::Internal, "STE link lost"));
    } else {
      spdlog::debug("frame type 0x{:02x} for the STE dropped: no STE link", frame.header.type);
    }
    co_return;
  }
  auto stream = *ste_;
  auto written = co_await stream.write_frame(frame.header, frame.payload);
  if (!written) {
    spdlog::warn("write to the STE failed: {}", written.error().message);
    stream.close();  // the STE loop notices and ends the session
  }
}

asio::awaitable<void> RelaySession::end_session_for(const std::string& why, bool ads_reachable) {
  const bool established = relay_.state() == proto::DtdRelay::State::Established;
  if (!established && !link_.in_flight()) co_return;
  const std::uint32_t session = established ? relay_.session() : *link_.in_flight();
  link_.session_over();
  // The STE still there but the ADS gone: the STE must not wait for an answer that cannot come.
  if (!ads_reachable && ste_)
    co_await to_ste(error_frame(Channel::SteAds, session, ErrorCode::AdsUnreachable, kAdsUnreachable));
  if (established) {
    // Sealed Terminate on channel 2 (when the ADS is there); the ADS then ends channel 1 as well.
    close_reason_ = why;
    co_await carry_out(relay_.terminate(ErrorCode::Internal));
    co_return;
  }
  if (session != 0 && ads_reachable) co_await to_ads(error_frame(Channel::SteAds, session, ErrorCode::Internal, why));
  ++sessions_ended_;
  if (session != 0)
    spdlog::info("session {} ended: {}", session, why);
  else
    spdlog::info("handshake in progress ended: {}", why);
}

}  // namespace cardperso::dtd
