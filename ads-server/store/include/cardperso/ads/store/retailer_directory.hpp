#pragma once
// What a DTD connection needs from the issuer's records, kept behind two small interfaces so the
// storage can move (e.g. off the connection's strand, or to a pool) without touching the protocol
// adapter.
#include <cstdint>
#include <string_view>

#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/ads/store/session_store.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/proto/ads_handshake.hpp"

namespace cardperso::ads {

class RetailerDirectory {
 public:
  virtual ~RetailerDirectory() = default;
  // The terminal's standing for this card and, for an enrolled terminal, the card's status and (for an
  // active card enrolled with this key version) its four keys. A card enrolled under another key
  // version is reported as NotFound (the H1 names a key set we do not hold). A terminal that is not
  // enrolled for the card learns nothing about the card.
  virtual Result<proto::RetailerLookup> lookup(std::string_view serial, std::uint8_t key_version,
                                               const proto::DeviceKey& terminal) = 0;
  virtual Result<AuthFailureOutcome> record_auth_failure(std::string_view serial) = 0;
  virtual Result<void> record_auth_success(std::string_view serial) = 0;
};

class SessionJournal {
 public:
  virtual ~SessionJournal() = default;
  virtual Result<std::int64_t> open_session(std::string_view serial, std::string_view peer) = 0;
  virtual Result<void> close_session(std::int64_t id, SessionOutcome outcome, std::string_view reason) = 0;
};

}  // namespace cardperso::ads
