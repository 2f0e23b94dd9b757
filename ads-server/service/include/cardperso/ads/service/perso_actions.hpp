#pragma once
// Carries out what a session's personalisation asks for, as the handshake core's actions (sealed
// messages, the session's end). The assessment is the only step that may wait (an external
// command), on the blocking pool, while the link's coroutine is suspended.
#include <cstdint>

#include "cardperso/ads/service/link_session.hpp"
#include "cardperso/ads/service/session_services.hpp"
#include "cardperso/net/asio.hpp"

namespace cardperso::ads {

net::asio::awaitable<proto::Actions> carry_out_perso(SessionServices& services, std::uint32_t id, LinkSession& s,
                                                     PersoActions actions);

}  // namespace cardperso::ads
