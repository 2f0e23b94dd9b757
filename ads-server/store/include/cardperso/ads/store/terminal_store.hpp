#pragma once
// The terminals (STEs) the issuer has enrolled, by their Ed25519 device public key, each for one or
// more retailer cards (a shop's several clerks use one terminal). The ADS refuses a session whose H1
// names a device key that is not actively enrolled for the card. Every change is one transaction
// that also appends to the audit log. Public keys only: the private key never leaves the terminal.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/clock.hpp"
#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads {

using DevicePublicKey = std::array<std::uint8_t, 32>;

enum class TerminalState { Active, Revoked };
std::string_view to_string(TerminalState state);

struct TerminalRecord {
  DevicePublicKey public_key{};
  std::string retailer_serial;
  std::string label;
  TerminalState state = TerminalState::Active;
  Seconds enrolled_at;
  std::optional<Seconds> revoked_at;
};

// What the records say about a device key and a retailer card, for the handshake.
enum class TerminalStanding { Enrolled, Revoked, OtherRetailer, Unknown };

inline constexpr std::size_t kMaxTerminalLabel = 64;

class TerminalStore {
 public:
  // actor: who makes the changes, as written to the audit log.
  TerminalStore(Database& db, AuditLog& audit, std::string actor, Clock clock = system_now);

  // The retailer must be enrolled and not revoked; an existing enrolment of the pair (active or
  // revoked) is AlreadyExists: a revoked terminal is not brought back, make it a new device key.
  Result<void> enrol(const DevicePublicKey& key, std::string_view retailer_serial, std::string_view label);
  // Revokes the key's active enrolments: all of them, or only the one for retailer_serial. Returns
  // how many were revoked; none is NotFound.
  Result<int> revoke(const DevicePublicKey& key, std::optional<std::string_view> retailer_serial);
  // All enrolments, or a retailer's, oldest first.
  Result<std::vector<TerminalRecord>> list(std::optional<std::string_view> retailer_serial);
  Result<TerminalStanding> standing(const DevicePublicKey& key, std::string_view retailer_serial);

 private:
  Database& db_;
  AuditLog& audit_;
  std::string actor_;
  Clock clock_;
};

}  // namespace cardperso::ads
