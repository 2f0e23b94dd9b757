#pragma once
// Carries out a session's handshake actions in order, on one DTD link: frames through the link's
// writer, the retailer look-up and failure count in the issuer's records, establishment and end
// (session_records.hpp), and the opened messages (Echo answered here, the rest to the personalisation).
#include <cstdint>
#include <string>

#include "cardperso/ads/service/link_session.hpp"
#include "cardperso/ads/service/link_writer.hpp"
#include "cardperso/ads/service/session_services.hpp"

namespace cardperso::ads {

class SessionActions {
 public:
  SessionActions(SessionServices& services, LinkWriter& writer, std::string peer);

  net::asio::awaitable<void> carry_out(std::uint32_t id, LinkSession& s, proto::Actions actions);
  SessionServices& services() { return services_; }

 private:
  net::asio::awaitable<proto::Actions> carry_out_one(std::uint32_t id, LinkSession& s, proto::Action& action);
  proto::Actions look_up(std::uint32_t id, LinkSession& s, const proto::LookupRetailer& lookup);
  void record_auth_failure(std::uint32_t id, const proto::RecordAuthFailure& failure);
  // A failure no retailer can be held to counts against the source address.
  void penalise_source(std::uint32_t id, const LinkSession& s, const proto::Close& close);
  net::asio::awaitable<proto::Actions> deliver(std::uint32_t id, LinkSession& s, const proto::Deliver& deliver);

  SessionServices& services_;
  LinkWriter& writer_;
  std::string peer_;
  std::string source_;  // the peer's address without its port (net/source_address.hpp); empty if unknown
};

}  // namespace cardperso::ads
