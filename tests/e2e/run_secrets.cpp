#include "run_secrets.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/master_key.hpp"
#include "cardperso/common/ed25519.hpp"
#include "cardperso/proto/pairing.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"

namespace cardperso::e2e {

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

bool all_ff(ByteView b) { return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0xFF; }); }

bool digits_only(ByteView b) {
  return !b.empty() && std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x >= '0' && x <= '9'; });
}

// A code file value: ASCII digits padded with FF are a PIN-like code, anything else 8 raw bytes.
void add_code(SecretScanner& scanner, const std::string& kind, ByteView value) {
  if (value.size() < 4 || all_ff(value)) return;
  std::size_t n = value.size();
  while (n > 0 && value[n - 1] == 0xFF) --n;
  const ByteView digits = value.first(n);
  if (digits_only(digits) && n >= 4)
    scanner.add_digits(kind, std::string(digits.begin(), digits.end()));
  else
    scanner.add_bytes(kind, value);
}

struct CardSecrets {
  std::string iccid;  // "" when the image has no readable EF_ICCID
};

CardSecrets add_card_image(SecretScanner& scanner, const cardsim::CardImage& image, const std::string& name) {
  CardSecrets out;
  for (const auto& f : image.files) {
    const ByteView data(f.data);
    const std::string where = " of " + name;
    if (f.path == "3F00/2FE2") {
      if (auto iccid = cardsim::decode_iccid(data)) out.iccid = *iccid;
    } else if (f.path == "3F00/0000") {
      add_code(scanner, "card CHV1 (PIN)" + where, data);
    } else if (f.path == "3F00/0001") {
      add_code(scanner, "card UNBLOCK1 (PUK)" + where, data);
    } else if (f.path == "3F00/0002") {
      add_code(scanner, "card CHV2" + where, data);
    } else if (f.path == "3F00/0003") {
      add_code(scanner, "card UNBLOCK2 (PUK2)" + where, data);
    } else if (f.path == "3F00/000A") {
      add_code(scanner, "card ADM1 (issuer or master code)" + where, data);
    } else if (f.path.ends_with("/FF02") && data.size() >= 16 && !all_ff(data.last(16))) {
      scanner.add_bytes("card Ki" + where, data.last(16));
    } else if (f.path.ends_with("/FF01") && data.size() >= 16 && !all_ff(data.last(16))) {
      scanner.add_bytes("card OPc" + where, data.last(16));
    } else if (f.path == "3F00/7F50/6F01" && data.size() >= 65) {
      const char* names[] = {"K_RA", "K_IA", "K_S", "K_D"};
      for (std::size_t i = 0; i < 4; ++i)
        scanner.add_bytes(std::string("retailer card ") + names[i] + where, data.subspan(1 + 16 * i, 16));
    }
  }
  return out;
}

// The sealed columns of the ADS schema and the row key each is sealed under (master_key.hpp).
struct SealedColumn {
  const char* sql;     // selects (row key, blob)
  const char* column;  // the sealing label
  const char* kind;
};
constexpr SealedColumn kSealed[] = {
    {"SELECT serial, sealed_keys FROM retailers", "retailers.keys", "retailer keys (ADS)"},
    {"SELECT serial, sealed_issuer_code FROM retailers", "retailers.issuer_code", "retailer issuer code (ADS)"},
    {"SELECT name, sealed_secret FROM card_batches WHERE sealed_secret IS NOT NULL", "card_batches.secret",
     "batch secret (ADS)"},
    {"SELECT iccid, sealed_master_code FROM cards WHERE sealed_master_code IS NOT NULL", "cards.master_code",
     "card master code (ADS)"},
    {"SELECT iccid, sealed_issuer_code FROM cards WHERE sealed_issuer_code IS NOT NULL", "cards.issuer_code",
     "card issuer code (ADS)"},
    {"SELECT iccid || '/' || version, sealed_ki FROM card_records", "card_records.ki", "card Ki (ADS)"},
    {"SELECT iccid || '/' || version, sealed_opc FROM card_records", "card_records.opc", "card OPc (ADS)"},
};

class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
    } else {
      sqlite3_busy_timeout(db_, 5000);
    }
  }
  ~ReadOnlyDb() { sqlite3_close(db_); }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;
  bool ok() const { return db_ != nullptr; }

  // (text, blob) rows of a two-column query; false when the query fails.
  bool rows(const char* sql, std::vector<std::pair<std::string, Bytes>>& out) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return false;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 1));
      const int n = sqlite3_column_bytes(stmt, 1);
      out.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "",
                       Bytes(blob, blob + (blob != nullptr ? n : 0)));
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE;
  }

 private:
  sqlite3* db_ = nullptr;
};

void add_database(RunSecrets& out, const std::string& db_path, const ads::MasterKey& key) {
  ReadOnlyDb db(db_path);
  if (!db.ok()) {
    out.problems.push_back("cannot open the ADS database " + db_path);
    return;
  }
  std::map<std::string, SecretBytes> batch_secrets;  // batch name -> secret
  for (const auto& col : kSealed) {
    std::vector<std::pair<std::string, Bytes>> rows;
    if (!db.rows(col.sql, rows)) {
      out.problems.push_back(std::string("cannot read ") + col.column);
      continue;
    }
    for (const auto& [row, blob] : rows) {
      auto plain = ads::open_column(key, col.column, row, blob);
      if (!plain) {
        out.problems.push_back(std::string(col.column) + " of " + row + " does not open");
        continue;
      }
      ++out.sealed_columns;
      if (std::string_view(col.column) == "retailers.keys" && plain->size() == 65) {
        const char* names[] = {"K_RA", "K_IA", "K_S", "K_D"};
        for (std::size_t i = 0; i < 4; ++i)
          out.scanner.add_bytes(std::string("retailer ") + names[i] + " (ADS) of " + row,
                                plain->view().subspan(1 + 16 * i, 16));
      } else {
        out.scanner.add_bytes(std::string(col.kind) + " of " + row, plain->view());
        if (std::string_view(col.column) == "card_batches.secret") batch_secrets.emplace(row, std::move(*plain));
      }
    }
  }
  // The master code of every card of a secret batch, as the ADS derives it to open the card.
  std::vector<std::pair<std::string, Bytes>> cards;
  if (!db.rows("SELECT c.iccid, CAST(b.name AS BLOB) FROM cards c JOIN card_batches b ON b.id = c.batch_id "
               "WHERE b.kind = 'secret'",
               cards)) {
    out.problems.push_back("cannot list the cards of secret batches");
    return;
  }
  for (const auto& [iccid, name_bytes] : cards) {
    auto it = batch_secrets.find(std::string(name_bytes.begin(), name_bytes.end()));
    if (it == batch_secrets.end()) continue;
    out.scanner.add_bytes("derived master code of " + iccid, ads::derive_master_code(it->second.view(), iccid).view());
  }
}

}  // namespace

RunSecrets collect_run_secrets(const std::string& dir, const std::string& db, const std::string& master_key) {
  RunSecrets out;
  auto relative = [&](const fs::path& p) { return fs::relative(p, dir).string(); };

  // The master key file: 32 hex digits or 16 raw bytes.
  if (fs::exists(master_key)) {
    out.secret_stores.insert(relative(master_key));
    std::string text = read_all(master_key);
    auto parsed = from_hex(trimmed(text));
    if (parsed && parsed->size() == ads::MasterKey::kSize) {
      out.scanner.add_bytes("ADS master key", *parsed);
      secure_wipe(parsed->data(), parsed->size());
    } else if (text.size() == ads::MasterKey::kSize) {
      out.scanner.add_bytes("ADS master key", view(text));
    } else {
      out.problems.push_back("the master key file is neither 32 hex digits nor 16 bytes");
    }
    secure_wipe(text.data(), text.size());
    if (auto key = ads::MasterKey::load_file(master_key); key && fs::exists(db)) {
      add_database(out, db, *key);
    } else if (fs::exists(db)) {
      out.problems.push_back("cannot load the master key to open the database");
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    if (fs::exists(db + suffix)) out.secret_stores.insert(relative(db + suffix));

  std::vector<SecretBytes> batch_files;
  std::vector<std::string> iccids;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string path = it->path().string();
    const std::string name = it->path().filename().string();
    const std::string rel = relative(it->path());
    if (name == "hlr.db" || name.starts_with("hlr.db-")) {
      // The operator's HLR database (osmo-hlr): an AuC keeps K and OPc in it to authenticate the
      // subscribers; the scan checks that they reach no other file.
      out.secret_stores.insert(rel);
    } else if (name.ends_with(".secret")) {
      out.secret_stores.insert(rel);
      std::string text = trimmed(read_all(path));
      auto secret = from_hex(text);
      if (secret && secret->size() == ads::kBatchSecretSize) {
        out.scanner.add_bytes("batch secret file " + rel, *secret);
        batch_files.emplace_back(ByteView(*secret));
        secure_wipe(secret->data(), secret->size());
      } else {
        out.problems.push_back("batch secret file " + rel + " is not 32 hex digits");
      }
      secure_wipe(text.data(), text.size());
    } else if (name.ends_with("-pairing.key")) {
      // A terminal's or DTD's pairing file (proto/PROTOCOL.md §6.5): the code, which is the key.
      out.secret_stores.insert(rel);
      std::string text = read_all(path);
      if (auto key = proto::parse_pairing_code(text)) out.scanner.add_bytes("pairing key " + rel, key->view());
      else out.problems.push_back("pairing file " + rel + " holds no pairing code");
      secure_wipe(text.data(), text.size());
    } else if (name.ends_with("-device.key")) {
      // A terminal's Ed25519 device key (proto/PROTOCOL.md §6.6): 64 hex digits.
      out.secret_stores.insert(rel);
      std::string text = trimmed(read_all(path));
      auto key = from_hex(text);
      if (key && key->size() == crypto::kEd25519KeySize) out.scanner.add_bytes("device key " + rel, *key);
      else out.problems.push_back("device key file " + rel + " is not 64 hex digits");
      if (key) secure_wipe(key->data(), key->size());
      secure_wipe(text.data(), text.size());
    } else if ((name.starts_with("keypad-") || name.starts_with("pin-")) && name.ends_with(".txt")) {
      out.secret_stores.insert(rel);
      std::istringstream lines(read_all(path));
      for (std::string line; std::getline(lines, line);) {
        line = trimmed(line);
        if (line.size() >= 4 && line.size() <= 16 && digits_only(view(line)))
          out.scanner.add_digits("keypad entry typed in " + rel, line);
      }
    } else if (name.ends_with(".json")) {
      auto image = cardsim::load_image(path);
      if (!image) {
        // A retailer key set given to `cardperso-mkcards retailer --keys-file`: a secret store (its
        // keys are the card's, gathered from the card image); anything else is a request, scanned.
        if (read_all(path).find("\"k_ra\"") != std::string::npos) out.secret_stores.insert(rel);
        continue;
      }
      out.secret_stores.insert(rel);
      ++out.card_images;
      const CardSecrets card = add_card_image(out.scanner, *image, rel);
      if (!card.iccid.empty()) iccids.push_back(card.iccid);
    }
  }
  if (ec) out.problems.push_back("cannot list " + dir + ": " + ec.message());
  // The manufacturer master code each card had before the ADS replaced it.
  for (const auto& secret : batch_files)
    for (const auto& iccid : iccids)
      out.scanner.add_bytes("master code of " + iccid + " from a batch secret file",
                            ads::derive_master_code(secret.view(), iccid).view());
  return out;
}

}  // namespace cardperso::e2e
