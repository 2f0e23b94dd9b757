#pragma once
// What the ADS records when a session is established or ends: the retailer's failure count, the
// sessions table (journal), the server's counters and the contract's log lines (close_reason.hpp).
#include <cstdint>

#include "cardperso/ads/service/link_session.hpp"
#include "cardperso/ads/service/session_services.hpp"
#include "cardperso/proto/actions.hpp"

namespace cardperso::ads {

void record_established(SessionServices& services, std::uint32_t id, LinkSession& s, const proto::SessionEstablished& e);
// Idempotent: the first Close of a session is recorded, later ones are ignored.
void record_end(SessionServices& services, std::uint32_t id, LinkSession& s, const proto::Close& c);
// The personalisation's log lines (its errors name the session).
void log_perso(std::uint32_t id, const LogLine& line);

}  // namespace cardperso::ads
