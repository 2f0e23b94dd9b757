#pragma once
// Checks and errors that the card stock, number pools and card records share (internal to the store).
#include <stdexcept>
#include <string>
#include <string_view>

#include "cardperso/ads/store/sqlite_db.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::ads::detail {

// A step of a larger transaction that its caller must have opened: calling it outside one is a
// programmer error, not a runtime failure.
inline void require_transaction(const Database& db, const char* what) {
  if (!db.in_transaction()) throw std::logic_error(std::string(what) + " must run inside a transaction");
}

// A sealed column that does not open: the file was altered or the wrong master key was given.
inline Error tampered(std::string_view what, std::string_view whose) {
  return fail("stored " + std::string(what) + " of " + std::string(whose) +
              " fails authentication: the database was altered or the master key is wrong; restore from backup");
}

}  // namespace cardperso::ads::detail
