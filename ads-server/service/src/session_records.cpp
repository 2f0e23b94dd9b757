#include "cardperso/ads/service/session_records.hpp"

#include <spdlog/spdlog.h>

#include "cardperso/ads/service/close_reason.hpp"

namespace cardperso::ads {

void log_perso(std::uint32_t id, const LogLine& line) {
  switch (line.level) {
    case LogLevel::Info: spdlog::info("{}", line.text); break;
    case LogLevel::Warn: spdlog::warn("{}", line.text); break;
    case LogLevel::Error: spdlog::error("session {}: {}", id, line.text); break;
  }
}

void record_established(SessionServices& services, std::uint32_t id, LinkSession& s, const proto::SessionEstablished& e) {
  s.established = true;
  if (services.perso != nullptr)
    s.perso = std::make_unique<PersoSession>(*services.perso, PersoSessionInfo{e.serial, s.journal_id});
  ++services.sessions_established;
  if (services.metrics != nullptr) services.metrics->established(std::chrono::steady_clock::now() - s.opened);
  spdlog::info("session {} established: retailer {}", id, e.serial);
  if (auto r = services.directory.record_auth_success(e.serial); !r)
    spdlog::error("session {}: cannot reset the failure count of retailer {}: {}", id, e.serial, r.error().message);
}

void record_end(SessionServices& services, std::uint32_t id, LinkSession& s, const proto::Close& c) {
  if (s.closed) return;
  s.closed = true;
  const std::string reason = s.reason_override.empty() ? short_reason(c) : s.reason_override;
  const auto end = classify_end(s.established, c.code, reason);
  if (services.metrics != nullptr) {
    services.metrics->ended(end.outcome);
    if (end.outcome == SessionOutcome::Failed) services.metrics->refused(c.code);
  }
  if (end.outcome == SessionOutcome::Failed) {
    ++services.sessions_refused;
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
    if (auto r = services.journal.close_session(*s.journal_id, end.outcome, end.text); !r)
      spdlog::error("session {}: cannot record its end: {}", id, r.error().message);
  }
}

}  // namespace cardperso::ads
