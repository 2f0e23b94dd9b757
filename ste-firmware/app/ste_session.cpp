#include "ste_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>

#include "cardperso/proto/link.hpp"
#include "cardperso/proto/ste_handshake.hpp"

namespace cardperso::ste {
namespace {

using proto::ErrorCode;
using proto::MessageType;
using Clock = proto::Clock;

std::chrono::milliseconds until(Clock::time_point deadline, Clock::time_point now) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
  return std::max(left, std::chrono::milliseconds{1});
}

// The coroutine co_spawn runs on the pool (a plain function: no capturing lambda as a coroutine).
net::asio::awaitable<void> run_work(std::function<void()>* work) {
  (*work)();
  co_return;
}

}  // namespace

net::asio::awaitable<void> run_blocking(boost::asio::thread_pool* pool, std::function<void()> work) {
  if (pool == nullptr) {
    work();
    co_return;
  }
  co_await net::asio::co_spawn(*pool, run_work(&work), net::asio::use_awaitable);
}

std::string refusal_reason(ErrorCode code) {
  switch (code) {
    case ErrorCode::AdsUnreachable: return "ADS unreachable";
    case ErrorCode::UnknownRetailer: return "unknown retailer";
    case ErrorCode::RetailerRevoked: return "retailer revoked";
    case ErrorCode::RetailerLocked: return "retailer locked";
    case ErrorCode::RetailerAuthFailed: return "retailer authentication failed";
    case ErrorCode::IssuerAuthFailed: return "issuer authentication failed";
    case ErrorCode::TerminalNotEnrolled: return "terminal not enrolled";
    case ErrorCode::TerminalAuthFailed: return "terminal authentication failed";
    case ErrorCode::NotAccepted: return "not accepted by the issuer";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::KeyConfirmationFailed: return "key confirmation failed";
    case ErrorCode::UnsupportedVersion: return "unsupported protocol version";
    case ErrorCode::Busy: return "busy";
    default: return std::string(proto::describe(code));
  }
}

net::asio::awaitable<SessionOutcome> greet_dtd(net::FramedStream link, std::string node_id,
                                               std::chrono::milliseconds wait) {
  proto::SteHello hello;
  hello.node_id = std::move(node_id);
  auto frame = proto::make_frame(proto::Channel::LinkControl, 0, hello);
  if (auto sent = co_await link.write_frame(proto::encode_frame(frame.header, frame.payload)); !sent)
    co_return SessionOutcome{false, "DTD link lost", sent.error().message};
  const auto deadline = Clock::now() + wait;
  for (;;) {
    auto read = co_await link.read_frame(until(deadline, Clock::now()));
    if (!read) {
      if (read.failure() == net::ReadFailure::Timeout) {
        // PROTOCOL.md §3 has the DTD answer SteHello; one that does not is still usable.
        spdlog::warn("the DTD did not answer SteHello within {} ms; continuing", wait.count());
        co_return SessionOutcome{true, {}, {}};
      }
      co_return SessionOutcome{false, "DTD link lost", read.error().message};
    }
    const auto& f = *read;
    if (f.header.channel != proto::Channel::LinkControl) {
      co_return SessionOutcome{false, "DTD link lost",
                               fmt::format("the DTD sent a channel-{} frame before answering SteHello",
                                           static_cast<int>(f.header.channel))};
    }
    const auto type = proto::to_message_type(f.header.type);
    if (type == MessageType::Keepalive) continue;
    if (type == MessageType::LinkHelloAck) {
      auto ack = proto::LinkHelloAck::decode(f.payload);
      if (!ack) co_return SessionOutcome{false, "DTD link lost", "bad LinkHelloAck: " + ack.error().message};
      if (auto ok = proto::check_hello_ack(*ack); !ok)
        co_return SessionOutcome{false, "unsupported protocol version", ok.error().message};
      spdlog::info("DTD link up ({}), protocol version {}", link.peer(), ack->version);
      co_return SessionOutcome{true, {}, {}};
    }
    if (type == MessageType::Error) {
      auto err = proto::ErrorMessage::decode(f.payload);
      if (!err) co_return SessionOutcome{false, "DTD link lost", "malformed Error from the DTD: " + err.error().message};
      co_return SessionOutcome{false, refusal_reason(err->code),
                               fmt::format("the DTD refused the link: {} ({})", err->text, proto::describe(err->code))};
    }
    spdlog::warn("ignoring link-control message type 0x{:02x} from the DTD before its hello answer", f.header.type);
  }
}

struct SteSession::Impl {
  Impl(net::FramedStream l, Display& d, SessionOptions o)
      : link(std::move(l)), display(d), options(std::move(o)), handshake(options.timeouts, options.random) {
    handshake.pair(std::move(options.pairing_key));  // the core holds the one copy
    handshake.identify(std::move(options.device));
  }

  net::FramedStream link;
  Display& display;
  SessionOptions options;
  proto::SteHandshake handshake;
  std::deque<proto::Action> queue;
  std::optional<SessionOutcome> outcome;
  bool awaiting_echo = false;

  void enqueue(proto::Actions actions) {
    for (auto& a : actions) queue.push_back(std::move(a));
  }

  // Ends the session from this side with a known reason; the core's own Close is then only logged.
  void refuse(std::string reason, std::string detail, ErrorCode code, bool link_usable) {
    if (!outcome) outcome = SessionOutcome{false, std::move(reason), std::move(detail)};
    auto actions = handshake.terminate(code);  // erases every key the core still holds
    if (link_usable) enqueue(std::move(actions));
  }

  void on_established(const proto::SessionEstablished& e) {
    spdlog::info("session {} established: retailer {}", e.session, e.serial);
    display.show("Issuer authenticated");
    display.show("Session keys established");
    if (options.echo_text) {
      awaiting_echo = true;
      enqueue(handshake.send(MessageType::Echo, view(*options.echo_text), Clock::now()));
    } else if (options.customer_flow) {
      spdlog::info("session {}: ready for customer cards", e.session);
      options.customer_flow->await_customer();  // reports `ready`
    } else {
      enqueue(handshake.terminate(ErrorCode::None));
    }
  }

  void on_deliver(const proto::Deliver& d) {
    if (d.type == MessageType::Echo && awaiting_echo) {
      awaiting_echo = false;
      const auto& want = *options.echo_text;
      const bool same = d.plaintext.size() == want.size() && std::equal(want.begin(), want.end(), d.plaintext.data());
      if (!same) {
        refuse("echo mismatch", "the ADS echoed a different text", ErrorCode::Internal, true);
        return;
      }
      spdlog::info("session {}: ste channel echo ok", handshake.session());
      enqueue(handshake.terminate(ErrorCode::None));
      return;
    }
    // run_session hands the flow its messages (those before establishment are ignored, as ever).
    if (options.customer_flow && d.type != MessageType::Echo) return;

    spdlog::warn("session {}: ignoring {} ({} bytes) from the ADS", handshake.session(), proto::name(d.type),
                 d.plaintext.size());
  }

  // A message for the customer flow (run by run_session off the io thread, then after_flow).
  bool for_flow(const proto::Deliver& d) const {
    return options.customer_flow && d.type != MessageType::Echo &&
           handshake.state() == proto::SteHandshake::State::Established;
  }
  void after_flow(FlowStep& step) {
    if (handshake.state() != proto::SteHandshake::State::Established) return;
    for (auto& m : step.send) enqueue(handshake.send(m.type, m.plaintext.view(), Clock::now()));
    if (step.end) refuse(step.refusal, step.detail, step.code, true);
  }

  void report(proto::TerminalPrompt prompt) {
    if (options.status) options.status->report(prompt);
  }

  void on_close(const proto::Close& c) {
    if (outcome) {
      spdlog::debug("session {}: core closed: {}", handshake.session(), c.reason);
      return;
    }
    if (c.code == ErrorCode::None && !awaiting_echo) {
      outcome = SessionOutcome{true, {}, c.reason};
      return;
    }
    if (c.code == ErrorCode::None) {
      outcome = SessionOutcome{false, "session ended by the ADS", c.reason};
      return;
    }
    outcome = SessionOutcome{false, refusal_reason(c.code), c.reason};
  }

  void on_link_control(const proto::Frame& f) {
    const auto type = proto::to_message_type(f.header.type);
    if (type == MessageType::Keepalive || type == MessageType::LinkHelloAck) return;
    if (type == MessageType::Error) {
      auto err = proto::ErrorMessage::decode(f.payload);
      if (!err) {
        refuse("DTD link lost", "malformed Error from the DTD: " + err.error().message, ErrorCode::BadFrame, true);
        return;
      }
      refuse(refusal_reason(err->code),
             fmt::format("the DTD ended the session: {} ({})", err->text, proto::describe(err->code)), err->code, true);
      return;
    }
    spdlog::warn("ignoring link-control message type 0x{:02x} from the DTD", f.header.type);
  }

  void on_frame(const proto::Frame& f) {
    if (f.header.channel == proto::Channel::LinkControl) {
      on_link_control(f);
      return;
    }
    // The ADS sends H4 only after it checked the retailer's cryptogram and key confirmations.
    if (f.header.type == static_cast<std::uint8_t>(MessageType::H4) &&
        handshake.state() == proto::SteHandshake::State::AwaitH4)
      display.show("Retailer authenticated");
    enqueue(handshake.on_frame(f, Clock::now()));
  }
};

namespace {

// Writes one frame. The L1 handover carries SK_D: its payload is wiped here, and the encoded copy
// by FramedStream once written.
net::asio::awaitable<Result<void>> write_action_frame(net::FramedStream link, proto::Frame frame) {
  Bytes encoded = proto::encode_frame(frame.header, frame.payload);
  if (frame.header.type == static_cast<std::uint8_t>(MessageType::SessionKeyHandover))
    secure_wipe(frame.payload.data(), frame.payload.size());
  auto written = co_await link.write_frame(std::move(encoded));
  co_return written;
}

net::asio::awaitable<SessionOutcome> run_session(std::shared_ptr<SteSession::Impl> s, RetailerCredentials creds) {
  spdlog::info("starting the handshake for retailer {} (key version {})", creds.serial, creds.key_version);
  s->enqueue(s->handshake.start(creds.serial, creds.key_version, std::move(creds.secrets), Clock::now()));
  bool link_ok = true;
  for (;;) {
    while (!s->queue.empty()) {
      proto::Action action = std::move(s->queue.front());
      s->queue.pop_front();
      if (auto* send = std::get_if<proto::SendFrame>(&action)) {
        if (!link_ok) continue;
        auto written = co_await write_action_frame(s->link, std::move(send->frame));
        if (!written) {
          link_ok = false;
          s->refuse("DTD link lost", written.error().message, ErrorCode::Internal, false);
        }
      } else if (const auto* est = std::get_if<proto::SessionEstablished>(&action)) {
        s->on_established(*est);
      } else if (const auto* deliver = std::get_if<proto::Deliver>(&action)) {
        if (s->for_flow(*deliver)) {
          // The card reader and the keypad block: off the io thread, so the link keeps taking the
          // flow's status reports meanwhile. Nothing else uses the session until it is back.
          FlowStep step;
          CustomerCardFlow* flow = s->options.customer_flow;
          std::function<void()> work = [&step, flow, deliver] {
            step = flow->on_message(deliver->type, deliver->plaintext.view());
          };
          co_await run_blocking(s->options.blocking_pool, std::move(work));
          s->after_flow(step);
        } else {
          s->on_deliver(*deliver);
        }
      } else if (const auto* close = std::get_if<proto::Close>(&action)) {
        s->on_close(*close);
      }
    }
    if (s->outcome) break;

    const auto now = Clock::now();
    // Between cards (and before the first) the terminal waits for the shop's next customer, whose
    // details a clerk types in at the PC first: the idle timeout applies then, not the per-answer one.
    const bool between_cards = s->options.customer_flow &&
                               s->handshake.state() == proto::SteHandshake::State::Established &&
                               s->options.customer_flow->idle();
    auto wait = between_cards ? s->options.idle_timeout : s->options.response_timeout;
    if (auto d = s->handshake.deadline()) wait = std::min(wait, until(*d, now));
    auto read = co_await s->link.read_frame(wait);
    if (read) {
      s->on_frame(*read);
      continue;
    }
    if (read.failure() == net::ReadFailure::Timeout) {
      const auto t = Clock::now();
      if (auto d = s->handshake.deadline(); d && t >= *d) {
        s->enqueue(s->handshake.on_timeout(t));
      } else if (between_cards) {
        s->refuse("timeout",
                  fmt::format("no customer from the shop PC within {} s",
                              std::chrono::ceil<std::chrono::seconds>(s->options.idle_timeout).count()),
                  ErrorCode::Timeout, true);
      } else {
        s->refuse("timeout",
                  fmt::format("no answer from the DTD/ADS within {} ms", s->options.response_timeout.count()),
                  ErrorCode::Timeout, true);
      }
      continue;
    }
    link_ok = false;
    s->refuse("DTD link lost", read.error().message, ErrorCode::Internal, false);
  }

  SessionOutcome outcome = std::move(*s->outcome);
  // Whatever happened, nothing of the session's keys survives it.
  (void)s->handshake.terminate(ErrorCode::Internal);
  if (outcome.ok) {
    spdlog::info("session {} ended: completed", s->handshake.session());
    s->display.show("Session ended");
    s->report(proto::TerminalPrompt::SessionEnded);
  } else {
    spdlog::warn("session {} refused: {} ({})", s->handshake.session(), outcome.refusal, outcome.detail);
    s->display.show("Refused: " + outcome.refusal);
    s->report(proto::TerminalPrompt::Refused);
  }
  co_return outcome;
}

}  // namespace

SteSession::SteSession(net::FramedStream link, Display& display, SessionOptions options)
    : impl_(std::make_shared<Impl>(std::move(link), display, std::move(options))) {}

net::asio::awaitable<SessionOutcome> SteSession::run(RetailerCredentials credentials) {
  return run_session(impl_, std::move(credentials));
}

}  // namespace cardperso::ste
