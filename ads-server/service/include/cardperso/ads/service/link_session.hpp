#pragma once
// One session on a DTD link, as the ADS application holds it: its handshake core, its row in the
// sessions table, and from establishment on its personalisation.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cardperso/ads/perso/perso_session.hpp"
#include "cardperso/proto/ads_handshake.hpp"

namespace cardperso::ads {

struct LinkSession {
  LinkSession(std::uint32_t id, proto::Timeouts timeouts, proto::RandomSource random)
      : handshake(id, timeouts, std::move(random)) {}
  proto::AdsHandshake handshake;
  std::optional<std::int64_t> journal_id;
  bool established = false;
  bool closed = false;
  // Replaces the core's reason in the log and journal when the ADS itself ends the session
  // ("server shutting down", "peer closed").
  std::string reason_override;
  std::unique_ptr<PersoSession> perso;  // null until established, or without a card profile
  std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();  // the handshake's start
};

}  // namespace cardperso::ads
