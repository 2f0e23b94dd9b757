#include "cardperso/ads/store/key_check.hpp"

#include <string_view>

namespace cardperso::ads {

namespace {
constexpr std::string_view kColumn = "ads_meta.value";
constexpr std::string_view kRow = "master_key_check";
constexpr std::string_view kPlain = "cardperso ads master key check v1";
}  // namespace

Result<void> bind_master_key(Database& db, const MasterKey& key) {
  const Bytes sealed =
      seal_column(key, kColumn, kRow, ByteView(reinterpret_cast<const std::uint8_t*>(kPlain.data()), kPlain.size()));
  return db.run("INSERT INTO ads_meta (name, value) VALUES (?1, ?2)", "bind master key: insert check value", kRow, sealed);
}

Result<void> check_master_key(Database& db, const MasterKey& key) {
  auto row = db.first_row("SELECT value FROM ads_meta WHERE name = ?1", "check master key: read check value", kRow);
  if (!row) return row.error();
  if (!*row) {
    return fail("database " + db.path() + " has no master key check value; it was not created by `adsctl init`");
  }
  const Bytes blob = (*row)->column_blob(0);
  if (!open_column(key, kColumn, kRow, blob)) {
    return fail("the master key does not match database " + db.path() +
                "; pass the key file created with this database (--master-key)");
  }
  return {};
}

}  // namespace cardperso::ads
