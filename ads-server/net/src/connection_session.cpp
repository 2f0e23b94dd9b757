#include "cardperso/ads/net/connection_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "cardperso/ads/net/close_reason.hpp"
#include "cardperso/ads/perso/perso_session.hpp"
#include "cardperso/net/source_address.hpp"
#include "cardperso/proto/link.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::ads {

namespace {

using proto::Channel;
using proto::ErrorCode;
using proto::MessageType;
using Clock = proto::Clock;
using std::chrono::milliseconds;

bool is_type(const proto::Frame& f, MessageType t) { return f.header.type == static_cast<std::uint8_t>(t); }

struct Session {
  Session(std::uint32_t id, const ServerContext& server)
      : handshake(id, server.options.timeouts, server.random) {}
  proto::AdsHandshake handshake;
  std::optional<std::int64_t> journal_id;
  bool established = false;
  bool closed = false;
  // Replaces the core's reason in the log and journal when the ADS itself ends the session
  // ("server shutting down", "peer closed").
  std::string reason_override;
  // The personalisation application, from establishment on (when the server is configured for it).
  std::unique_ptr<PersoSession> perso;
};

// Runs the assessment on the pool; the caller's coroutine resumes on its own executor.
net::asio::awaitable<policy::Decision> assess_in_pool(PersoServices* services, policy::CustomerDetails details) {
  co_return services->assess(details);
}

void log_perso(std::uint32_t id, const LogLine& line) {
  switch (line.level) {
    case LogLevel::Info: spdlog::info("{}", line.text); break;
    case LogLevel::Warn: spdlog::warn("{}", line.text); break;
    case LogLevel::Error: spdlog::error("session {}: {}", id, line.text); break;
  }
}

class Connection {
 public:
  Connection(std::shared_ptr<ServerContext> server, net::FramedStream stream)
      : server_(std::move(server)), stream_(std::move(stream)), options_(server_->options) {}

  net::asio::awaitable<void> run();

 private:
  net::asio::awaitable<bool> hello();
  net::asio::awaitable<void> on_frame(proto::Frame frame);
  net::asio::awaitable<void> on_link_control(const proto::Frame& frame);
  net::asio::awaitable<void> on_session_frame(const proto::Frame& frame);
  net::asio::awaitable<void> carry_out(std::uint32_t id, proto::Actions actions);
  net::asio::awaitable<proto::Actions> carry_out_perso(std::uint32_t id, Session& s, PersoActions actions);
  net::asio::awaitable<void> send(const proto::Frame& frame);
  net::asio::awaitable<void> send_error(Channel channel, std::uint32_t session, ErrorCode code, std::string text);
  net::asio::awaitable<void> fire_timeouts();
  net::asio::awaitable<void> terminate_all(const std::string& why);
  void drop_all(const std::string& why);
  void on_established(std::uint32_t id, Session& s, const proto::SessionEstablished& e);
  void on_close(std::uint32_t id, Session& s, const proto::Close& c);
  void erase_closed();
  milliseconds next_wait(Clock::time_point now) const;

  std::shared_ptr<ServerContext> server_;
  net::FramedStream stream_;
  const ConnectionOptions options_;
  std::string dtd_name_ = "unnamed DTD";
  std::map<std::uint32_t, std::unique_ptr<Session>> sessions_;
  Clock::time_point last_sent_ = Clock::now();
  Clock::time_point last_received_ = Clock::now();
  bool link_broken_ = false;
  bool link_closing_ = false;
  // GroupCommit::mark() taken before this turn's handler made its writes.
  GroupCommit::Mark durability_mark_{};
};

net::asio::awaitable<void> Connection::send(const proto::Frame& frame) {
  if (link_broken_) co_return;
  if (server_->group != nullptr) {
    // No frame leaves before the writes made while producing it are durable.
    auto durable = co_await server_->group->durable(durability_mark_);
    if (link_broken_) co_return;
    if (!durable) {
      spdlog::error("DTD {} at {}: frame for session {} held back: {}; ending the link and its sessions", dtd_name_,
                    stream_.peer(), frame.header.session, durable.error().message);
      if (frame.header.session != 0) {
        // Reports nothing as done, so it needs no durable write behind it.
        const auto error = proto::make_frame(
            frame.header.channel, frame.header.session,
            proto::ErrorMessage::make(ErrorCode::Internal, "the server could not save its records; the session is ended"));
        (void)co_await stream_.write_frame(error.header, error.payload);
      }
      link_broken_ = true;
      co_return;
    }
  }
  auto written = co_await stream_.write_frame(frame.header, frame.payload);
  if (!written) {
    spdlog::warn("DTD {} at {}: {}", dtd_name_, stream_.peer(), written.error().message);
    link_broken_ = true;
    co_return;
  }
  last_sent_ = Clock::now();
}

net::asio::awaitable<void> Connection::send_error(Channel channel, std::uint32_t session, ErrorCode code,
                                                  std::string text) {
  co_await send(proto::make_frame(channel, session, proto::ErrorMessage::make(code, text)));
}

net::asio::awaitable<bool> Connection::hello() {
  if (server_->hello_limiter && server_->hello_limiter->enabled()) {
    if (auto source = net::source_key_of_peer(stream_.peer())) {
      const auto verdict = server_->hello_limiter->admit(*source, std::chrono::steady_clock::now());
      if (!verdict.allowed) {
        if (verdict.log_refusals > 0)
          spdlog::warn("too many connections from {}: {} hello(s) refused since the previous line (limit {}/s, "
                       "burst {}); at most one line per {} ms", *source, verdict.log_refusals,
                       server_->hello_limiter->options().rate_per_second, server_->hello_limiter->options().burst,
                       server_->hello_limiter->options().log_interval.count());
        co_await send_error(Channel::LinkControl, 0, ErrorCode::Busy,
                            fmt::format("too many connections from {}; retry later", *source));
        co_return false;
      }
    }
  }
  auto first = co_await stream_.read_frame(options_.hello_timeout);
  if (!first) {
    spdlog::warn("DTD at {} sent no LinkHello: {}", stream_.peer(), first.error().message);
    co_return false;
  }
  if (first->header.channel != Channel::LinkControl || !is_type(*first, MessageType::LinkHello)) {
    co_await send_error(Channel::LinkControl, 0, ErrorCode::UnexpectedMessage, "the link starts with LinkHello");
    spdlog::warn("DTD at {} did not start with LinkHello (type 0x{:02x} on channel {}); closing",
                 stream_.peer(), first->header.type, static_cast<int>(first->header.channel));
    co_return false;
  }
  auto hello = proto::LinkHello::decode(first->payload);
  if (!hello) {
    co_await send_error(Channel::LinkControl, 0, ErrorCode::BadFrame, hello.error().message);
    spdlog::warn("DTD at {} sent a malformed LinkHello: {}", stream_.peer(), hello.error().message);
    co_return false;
  }
  dtd_name_ = hello->node_id;
  auto ack = proto::negotiate_version(hello->min_version, hello->max_version);
  if (!ack) {
    co_await send_error(Channel::LinkControl, 0, ErrorCode::UnsupportedVersion, ack.error().message);
    spdlog::warn("DTD {} at {}: {}", dtd_name_, stream_.peer(), ack.error().message);
    co_return false;
  }
  co_await send(proto::make_frame(Channel::LinkControl, 0, *ack));
  if (link_broken_) co_return false;
  last_received_ = Clock::now();
  spdlog::info("DTD {} connected from {} (protocol version {})", dtd_name_, stream_.peer(), ack->version);
  co_return true;
}

milliseconds Connection::next_wait(Clock::time_point now) const {
  auto until = std::min(last_sent_ + options_.keepalive_interval, last_received_ + options_.link_timeout);
  for (const auto& [id, s] : sessions_)
    if (auto d = s->handshake.deadline()) until = std::min(until, *d);
  const auto wait = std::chrono::ceil<milliseconds>(until - now);
  return std::max(wait, milliseconds(1));
}

// Registers the connection's read interrupter for the shutdown request while it runs.
class InterrupterRegistration {
 public:
  InterrupterRegistration(ServerContext& server, std::function<void()> interrupt)
      : server_(server), id_(server.add_interrupter(std::move(interrupt))) {}
  ~InterrupterRegistration() { server_.remove_interrupter(id_); }
  InterrupterRegistration(const InterrupterRegistration&) = delete;
  InterrupterRegistration& operator=(const InterrupterRegistration&) = delete;

 private:
  ServerContext& server_;
  std::uint64_t id_;
};

net::asio::awaitable<void> Connection::run() {
  InterrupterRegistration registration(*server_, [this] { stream_.interrupt_read(); });
  if (server_->group != nullptr) durability_mark_ = server_->group->mark();
  if (!co_await hello()) co_return;
  std::string why = "peer closed";
  while (!link_broken_ && !link_closing_) {
    if (server_->group != nullptr) durability_mark_ = server_->group->mark();
    if (server_->stopping.load()) {
      co_await terminate_all("server shutting down");
      spdlog::info("DTD {} at {}: link closed, server shutting down", dtd_name_, stream_.peer());
      co_return;
    }
    co_await fire_timeouts();
    auto now = Clock::now();
    if (now - last_received_ >= options_.link_timeout) {
      spdlog::warn("DTD {} at {} silent for {} ms; closing the link", dtd_name_, stream_.peer(),
                   options_.link_timeout.count());
      why = "link timeout";
      break;
    }
    if (now - last_sent_ >= options_.keepalive_interval)
      co_await send(proto::make_frame(Channel::LinkControl, 0, proto::Keepalive{}));
    // Checked again with no suspension before the read starts, so request_stop cannot be missed.
    if (server_->stopping.load() || link_broken_) continue;
    auto frame = co_await stream_.read_frame(next_wait(Clock::now()));
    if (!frame) {
      if (frame.failure() == net::ReadFailure::Timeout) continue;
      spdlog::info("DTD {} at {} disconnected: {}", dtd_name_, stream_.peer(), frame.error().message);
      why = frame.failure() == net::ReadFailure::BadFrame ? "bad frame" : "peer closed";
      break;
    }
    last_received_ = Clock::now();
    // Taken again after the wait, so a commit that failed while this link was idle is not held
    // against the writes this frame is about to make.
    if (server_->group != nullptr) durability_mark_ = server_->group->mark();
    co_await on_frame(std::move(*frame));
    erase_closed();
  }
  drop_all(link_broken_ ? "peer closed" : why);
  stream_.close();
}

net::asio::awaitable<void> Connection::on_frame(proto::Frame frame) {
  if (frame.header.channel == Channel::LinkControl)
    co_await on_link_control(frame);
  else
    co_await on_session_frame(frame);
}

net::asio::awaitable<void> Connection::on_link_control(const proto::Frame& frame) {
  const auto type = proto::to_message_type(frame.header.type);
  if (type == MessageType::Keepalive) co_return;
  if (type == MessageType::Error) {
    auto err = proto::ErrorMessage::decode(frame.payload);
    spdlog::warn("DTD {} at {} reported a link error: {}; closing the link", dtd_name_, stream_.peer(),
                 err ? fmt::format("{} ({})", err->text, proto::describe(err->code)) : err.error().message);
    link_closing_ = true;
    co_return;
  }
  spdlog::warn("DTD {} at {}: unexpected {} on channel 0", dtd_name_, stream_.peer(),
               type ? std::string(proto::name(*type)) : fmt::format("type 0x{:02x}", frame.header.type));
  co_await send_error(Channel::LinkControl, 0, ErrorCode::UnexpectedMessage,
                      "only Keepalive and Error are expected on channel 0 after the hello");
}

net::asio::awaitable<void> Connection::on_session_frame(const proto::Frame& frame) {
  const auto now = Clock::now();
  const bool is_error = is_type(frame, MessageType::Error);
  if (frame.header.channel == Channel::SteAds && frame.header.session == 0 && is_type(frame, MessageType::H1)) {
    if (sessions_.size() >= options_.max_sessions) {
      spdlog::warn("DTD {} at {}: H1 refused, {} sessions already open on this link", dtd_name_, stream_.peer(),
                   sessions_.size());
      co_await send_error(Channel::SteAds, 0, ErrorCode::Busy,
                          fmt::format("too many sessions on this link (at most {}); retry later", options_.max_sessions));
      co_return;
    }
    const std::uint32_t id = server_->ids.next();
    auto [it, inserted] = sessions_.emplace(id, std::make_unique<Session>(id, *server_));
    if (!inserted) {  // only after 2^32 sessions on one link, but never let two sessions share an id
      co_await send_error(Channel::SteAds, 0, ErrorCode::Busy, "no free session id; retry");
      co_return;
    }
    spdlog::debug("session {} started by DTD {} at {}", id, dtd_name_, stream_.peer());
    co_await carry_out(id, it->second->handshake.on_frame(frame, now));
    co_return;
  }
  auto it = sessions_.find(frame.header.session);
  if (it == sessions_.end() || it->second->closed) {
    // An Error about a session we no longer hold needs no answer (and answering could ping-pong).
    if (is_error) {
      spdlog::debug("DTD {}: Error for unknown session {} ignored", dtd_name_, frame.header.session);
      co_return;
    }
    spdlog::info("DTD {} at {}: frame (type 0x{:02x}) for unknown session {}", dtd_name_, stream_.peer(),
                 frame.header.type, frame.header.session);
    co_await send_error(frame.header.channel, frame.header.session, ErrorCode::UnknownSession,
                        fmt::format("no session {} on this link", frame.header.session));
    co_return;
  }
  co_await carry_out(it->first, it->second->handshake.on_frame(frame, now));
}

net::asio::awaitable<void> Connection::carry_out(std::uint32_t id, proto::Actions actions) {
  auto found = sessions_.find(id);
  if (found == sessions_.end()) co_return;
  Session& s = *found->second;
  std::deque<proto::Action> todo(std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
  while (!todo.empty()) {
    proto::Action action = std::move(todo.front());
    todo.pop_front();
    proto::Actions more;
    if (auto* send_frame = std::get_if<proto::SendFrame>(&action)) {
      co_await send(send_frame->frame);
    } else if (auto* lookup = std::get_if<proto::LookupRetailer>(&action)) {
      if (auto opened = server_->journal.open_session(lookup->serial, stream_.peer()))
        s.journal_id = *opened;
      else
        spdlog::error("session {}: cannot record the session: {}", id, opened.error().message);
      auto found_retailer = server_->directory.lookup(lookup->serial, lookup->key_version);
      if (!found_retailer) {
        spdlog::error("session {}: retailer lookup failed: {}", id, found_retailer.error().message);
        s.reason_override = "internal error: retailer lookup failed";
        more = s.handshake.terminate(ErrorCode::Internal);
      } else {
        more = s.handshake.on_retailer_lookup(std::move(*found_retailer), Clock::now());
      }
    } else if (auto* failure = std::get_if<proto::RecordAuthFailure>(&action)) {
      auto outcome = server_->directory.record_auth_failure(failure->serial);
      if (!outcome)
        spdlog::error("session {}: cannot record the failed authentication of retailer {}: {}", id, failure->serial,
                      outcome.error().message);
      else if (outcome->locked_now)
        spdlog::warn("retailer {} locked after {} failed authentications", failure->serial, outcome->failures);
      else
        spdlog::info("retailer {}: {} failed authentication(s) in the current window", failure->serial,
                     outcome->failures);
    } else if (auto* established = std::get_if<proto::SessionEstablished>(&action)) {
      on_established(id, s, *established);
    } else if (auto* deliver = std::get_if<proto::Deliver>(&action)) {
      if (deliver->type == MessageType::Echo) {
        spdlog::debug("session {}: echo of {} bytes on channel {}", id, deliver->plaintext.size(),
                      static_cast<int>(deliver->channel));
        more = s.handshake.send(deliver->channel, MessageType::Echo, deliver->plaintext.view(), Clock::now());
      } else if (s.perso) {
        more = co_await carry_out_perso(
            id, s, s.perso->on_message(deliver->channel, deliver->type, deliver->plaintext.view()));
      } else {
        spdlog::warn("session {}: {} on channel {}: personalisation is not configured on this server (no card profile)",
                     id, proto::name(deliver->type), static_cast<int>(deliver->channel));
        s.reason_override = "personalisation not configured";
        more = s.handshake.terminate(ErrorCode::UnexpectedMessage);
      }
    } else if (auto* close = std::get_if<proto::Close>(&action)) {
      on_close(id, s, *close);
    } else if (auto* link = std::get_if<proto::LinkMessage>(&action)) {
      spdlog::debug("session {}: link message type 0x{:02x} ignored", id, link->frame.header.type);
    }
    for (auto& a : more) todo.push_back(std::move(a));
  }
}

// Turns what the personalisation session asks for into the core's actions. The assessment is the only
// step that may wait (an external command), on the pool, while this connection's coroutine is suspended.
net::asio::awaitable<proto::Actions> Connection::carry_out_perso(std::uint32_t id, Session& s, PersoActions actions) {
  proto::Actions out;
  std::deque<PersoAction> todo(std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
  while (!todo.empty()) {
    PersoAction action = std::move(todo.front());
    todo.pop_front();
    if (auto* seal = std::get_if<SealMessage>(&action)) {
      if (s.handshake.state() != proto::AdsHandshake::State::Established) continue;
      for (auto& a : s.handshake.send(seal->channel, seal->type, seal->plaintext.view(), Clock::now()))
        out.push_back(std::move(a));
    } else if (auto* assess = std::get_if<AssessCustomer>(&action)) {
      PersoServices& services = *server_->perso;
      policy::Decision decision;
      if (services.assess_may_block() && server_->blocking_pool != nullptr) {
        decision = co_await net::asio::co_spawn(*server_->blocking_pool, assess_in_pool(&services, assess->details),
                                                net::asio::use_awaitable);
      } else {
        decision = services.assess(assess->details);
      }
      for (auto& more : s.perso->on_assessment(decision)) todo.push_back(std::move(more));
    } else if (auto* end = std::get_if<EndSession>(&action)) {
      if (s.handshake.state() == proto::AdsHandshake::State::Closed) continue;
      s.reason_override = end->reason;
      for (auto& a : s.handshake.terminate(end->code)) out.push_back(std::move(a));
    } else if (auto* line = std::get_if<LogLine>(&action)) {
      log_perso(id, *line);
    }
  }
  co_return out;
}

void Connection::on_established(std::uint32_t id, Session& s, const proto::SessionEstablished& e) {
  s.established = true;
  if (server_->perso != nullptr)
    s.perso = std::make_unique<PersoSession>(*server_->perso, PersoSessionInfo{e.serial, s.journal_id});
  ++server_->sessions_established;
  spdlog::info("session {} established: retailer {}", id, e.serial);
  if (auto r = server_->directory.record_auth_success(e.serial); !r)
    spdlog::error("session {}: cannot reset the failure count of retailer {}: {}", id, e.serial, r.error().message);
}

void Connection::on_close(std::uint32_t id, Session& s, const proto::Close& c) {
  if (s.closed) return;
  s.closed = true;
  const std::string reason = s.reason_override.empty() ? short_reason(c) : s.reason_override;
  const auto end = classify_end(s.established, c.code, reason);
  if (end.outcome == SessionOutcome::Failed) {
    ++server_->sessions_refused;
    spdlog::info("session {} refused: {}", id, reason);
  } else {
    spdlog::info("session {} ended: {}", id, end.text);
  }
  if (!c.reason.empty()) spdlog::debug("session {}: {}", id, c.reason);
  // A card whose script was running when the session ended is recorded failed here.
  if (s.perso)
    for (const auto& action : s.perso->on_closed(reason))
      if (const auto* line = std::get_if<LogLine>(&action)) log_perso(id, *line);
  if (s.journal_id) {
    if (auto r = server_->journal.close_session(*s.journal_id, end.outcome, end.text); !r)
      spdlog::error("session {}: cannot record its end: {}", id, r.error().message);
  }
}

net::asio::awaitable<void> Connection::fire_timeouts() {
  const auto now = Clock::now();
  std::vector<std::uint32_t> due;
  for (const auto& [id, s] : sessions_)
    if (!s->closed && s->handshake.deadline() && *s->handshake.deadline() <= now) due.push_back(id);
  for (auto id : due) co_await carry_out(id, sessions_.at(id)->handshake.on_timeout(now));
  erase_closed();
}

net::asio::awaitable<void> Connection::terminate_all(const std::string& why) {
  std::vector<std::uint32_t> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (auto id : ids) {
    auto& s = *sessions_.at(id);
    if (s.closed) continue;
    s.reason_override = why;
    co_await carry_out(id, s.handshake.terminate(ErrorCode::Internal));
  }
  sessions_.clear();
}

// The link is gone: nothing can be sent, so the sessions are closed here (keys erased) and recorded.
void Connection::drop_all(const std::string& why) {
  for (auto& [id, s] : sessions_) {
    if (s->closed) continue;
    s->reason_override = why;
    const auto actions = s->handshake.terminate(ErrorCode::Internal);  // erases the keys; the frames cannot go
    const auto* close = proto::find_action<proto::Close>(actions);
    on_close(id, *s, close ? *close : proto::Close{ErrorCode::Internal, why});
  }
  sessions_.clear();
}

void Connection::erase_closed() {
  std::erase_if(sessions_, [](const auto& entry) { return entry.second->closed; });
}

}  // namespace

void ServerContext::request_stop() {
  stopping = true;
  // Copied: an interrupted read resumes later, never inside this loop, but stay safe anyway.
  std::vector<std::function<void()>> interrupts;
  interrupts.reserve(interrupters_.size());
  for (const auto& [id, interrupt] : interrupters_) interrupts.push_back(interrupt);
  for (const auto& interrupt : interrupts) interrupt();
}

std::uint64_t ServerContext::add_interrupter(std::function<void()> interrupt) {
  const auto id = next_interrupter_++;
  interrupters_.emplace(id, std::move(interrupt));
  return id;
}

void ServerContext::remove_interrupter(std::uint64_t id) { interrupters_.erase(id); }

net::asio::awaitable<void> serve_dtd_connection(std::shared_ptr<ServerContext> server, net::FramedStream stream) {
  auto connection = std::make_shared<Connection>(std::move(server), std::move(stream));
  co_await connection->run();
}

}  // namespace cardperso::ads
