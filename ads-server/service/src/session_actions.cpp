#include "cardperso/ads/service/session_actions.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/ads/service/perso_actions.hpp"
#include "cardperso/ads/service/session_records.hpp"
#include "cardperso/net/action_queue.hpp"

namespace cardperso::ads {

using proto::ErrorCode;
using proto::MessageType;

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
  } else if (auto* opened = std::get_if<proto::Deliver>(&action)) {
    more = co_await deliver(id, s, *opened);
  } else if (auto* close = std::get_if<proto::Close>(&action)) {
    record_end(services_, id, s, *close);
  } else if (auto* link = std::get_if<proto::LinkMessage>(&action)) {
    spdlog::debug("session {}: link message type 0x{:02x} ignored", id, link->frame.header.type);
  }
  co_return more;
}

proto::Actions SessionActions::look_up(std::uint32_t id, LinkSession& s, const proto::LookupRetailer& lookup) {
  if (auto opened = services_.journal.open_session(lookup.serial, peer_))
    s.journal_id = *opened;
  else
    spdlog::error("session {}: cannot record the session: {}", id, opened.error().message);
  auto found = services_.directory.lookup(lookup.serial, lookup.key_version, lookup.terminal);
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
  else if (outcome->locked_now)
    spdlog::warn("retailer {} locked after {} failed authentications", failure.serial, outcome->failures);
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
