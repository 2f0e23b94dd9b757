#include "cardperso/ads/service/session_actions.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cardperso/ads/service/perso_actions.hpp"
#include "cardperso/ads/service/session_records.hpp"
#include "cardperso/net/action_queue.hpp"
#include "cardperso/net/source_address.hpp"

namespace cardperso::ads {

using proto::ErrorCode;
using proto::MessageType;

namespace {
// Refusals at H1 and a terminal signature that does not verify: nobody authenticated, so no
// retailer's count can take them; the address they came from does.
bool anonymous_failure(ErrorCode code) {
  switch (code) {
    case ErrorCode::TerminalNotEnrolled:
    case ErrorCode::UnknownRetailer:
    case ErrorCode::RetailerRevoked:
    case ErrorCode::RetailerLocked:
    case ErrorCode::TerminalAuthFailed: return true;
    default: return false;
  }
}
}  // namespace

SessionActions::SessionActions(SessionServices& services, LinkWriter& writer, std::string peer)
    : services_(services), writer_(writer), peer_(std::move(peer)),
      source_(net::source_key_of_peer(peer_).value_or("")) {}

void SessionActions::penalise_source(std::uint32_t id, const LinkSession& s, const proto::Close& close) {
  if (services_.penalties == nullptr || source_.empty() || s.established || !anonymous_failure(close.code)) return;
  if (auto backoff = services_.penalties->record_failure(source_, std::chrono::steady_clock::now()))
    spdlog::warn("session {}: {} backed off for {} s after {} failed attempts nobody authenticated (within {} s)", id,
                 source_, backoff->count(), services_.penalties->options().max_failures,
                 services_.penalties->options().window.count());
}

net::asio::awaitable<void> SessionActions::carry_out(std::uint32_t id, LinkSession& s, proto::Actions actions) {
  co_await net::carry_out_in_order(std::move(actions),
                                   [this, id, &s](proto::Action& action) { return carry_out_one(id, s, action); });
}

net::asio::awaitable<proto::Actions> SessionActions::carry_out_one(std::uint32_t id, LinkSession& s,
                                                                   proto::Action& action) {
  proto::Actions more;
  if (auto* send_frame = std::get_if<proto::SendFrame>(&action)) {
    co_await writer_.send(send_frame->frame);
  } else if (auto* lookup = std::get_if<proto::LookupRetailer>(&action)) {
    more = look_up(id, s, *lookup);
  } else if (auto* failure = std::get_if<proto::RecordAuthFailure>(&action)) {
    record_auth_failure(id, *failure);
  } else if (auto* established = std::get_if<proto::SessionEstablished>(&action)) {
    record_established(services_, id, s, *established);
    if (services_.penalties != nullptr && !source_.empty()) services_.penalties->record_success(source_);
  } else if (auto* opened = std::get_if<proto::Deliver>(&action)) {
    more = co_await deliver(id, s, *opened);
  } else if (auto* close = std::get_if<proto::Close>(&action)) {
    const bool first_close = !s.closed;
    record_end(services_, id, s, *close);
    if (first_close) penalise_source(id, s, *close);
  } else if (auto* link = std::get_if<proto::LinkMessage>(&action)) {
    spdlog::debug("session {}: link message type 0x{:02x} ignored", id, link->frame.header.type);
  }
  co_return more;
}

proto::Actions SessionActions::look_up(std::uint32_t id, LinkSession& s, const proto::LookupRetailer& lookup) {
  if (services_.penalties != nullptr && !source_.empty()) {
    if (auto wait = services_.penalties->backed_off(source_, std::chrono::steady_clock::now())) {
      // No lookup, no journal row, no count: the address is waiting out its back-off.
      s.reason_override = "address backed off";
      return s.handshake.refuse_now(
          ErrorCode::Busy, fmt::format("too many failed attempts from this address; retry in {} s",
                                       std::chrono::ceil<std::chrono::seconds>(*wait).count()));
    }
  }
  auto found = services_.directory.lookup(lookup.serial, lookup.key_version, lookup.terminal);
  // The journal keeps the sessions of the issuer's own retailers, and the failed lookups of the
  // issuer's records (an unreadable row is the issuer's business): a made-up serial gets a log line
  // (and counts against its address), not a row.
  if (!found || found->retailer_known) {
    if (auto opened = services_.journal.open_session(lookup.serial, peer_))
      s.journal_id = *opened;
    else
      spdlog::error("session {}: cannot record the session: {}", id, opened.error().message);
  }
  if (!found) {
    spdlog::error("session {}: retailer lookup failed: {}", id, found.error().message);
    s.reason_override = "internal error: retailer lookup failed";
    return s.handshake.terminate(ErrorCode::Internal);
  }
  return s.handshake.on_retailer_lookup(std::move(*found), proto::Clock::now());
}

void SessionActions::record_auth_failure(std::uint32_t id, const proto::RecordAuthFailure& failure) {
  auto outcome = services_.directory.record_auth_failure(failure.serial);
  if (!outcome)
    spdlog::error("session {}: cannot record the failed authentication of retailer {}: {}", id, failure.serial,
                  outcome.error().message);
  else if (outcome->locked_now) {
    ++services_.retailer_lockouts;
    if (services_.metrics != nullptr) services_.metrics->retailer_locked();
    spdlog::warn("retailer {} locked after {} failed authentications, until {} (it ends by itself; adsctl retailer "
                 "unlock ends it now)",
                 failure.serial, outcome->failures,
                 outcome->locked_until ? std::to_string(to_unix(*outcome->locked_until)) : std::string("?"));
  }
  else
    spdlog::info("retailer {}: {} failed authentication(s) in the current window", failure.serial, outcome->failures);
}

net::asio::awaitable<proto::Actions> SessionActions::deliver(std::uint32_t id, LinkSession& s,
                                                             const proto::Deliver& deliver) {
  if (deliver.type == MessageType::Echo) {
    spdlog::debug("session {}: echo of {} bytes on channel {}", id, deliver.plaintext.size(),
                  static_cast<int>(deliver.channel));
    co_return s.handshake.send(deliver.channel, MessageType::Echo, deliver.plaintext.view(), proto::Clock::now());
  }
  if (s.perso)
    co_return co_await carry_out_perso(services_, id, s,
                                       s.perso->on_message(deliver.channel, deliver.type, deliver.plaintext.view()));
  spdlog::warn("session {}: {} on channel {}: personalisation is not configured on this server (no card profile)", id,
               proto::name(deliver.type), static_cast<int>(deliver.channel));
  s.reason_override = "personalisation not configured";
  co_return s.handshake.terminate(ErrorCode::UnexpectedMessage);
}

}  // namespace cardperso::ads
