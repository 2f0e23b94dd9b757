// adsctl export new-transport-key | subscribers: the AuC export for an operator without a live HLR link.
// Every personalised card's latest record (ICCID, IMSI, MSISDN) with its Ki and OPc, sealed under a
// transport key the operator holds (or in clear, only when asked for by name); every export is audited.
// No key is ever printed: only the transport key's check value.
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "cardperso/ads/store/card_records.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "command_line.hpp"
#include "subscriber_export.hpp"
#include "transport_key_file.hpp"

namespace cardperso::adsctl {

namespace {

// More cards than this in one export is refused rather than cut short without notice.
constexpr int kMaxExportCards = 10000000;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

int run_new_transport_key(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "FILE",
                     "Writes a new random AES-256 transport key for `adsctl export subscribers` to FILE:\n"
                     "64 lower-case hex digits and a newline, mode 0600. Refuses to overwrite an existing file.\n"
                     "Prints only the key's check value (kcv=XXXXXX: the first 3 bytes of AES-256 of a zero\n"
                     "block), which the export's header repeats. Hand the file to the operator apart from the\n"
                     "exports. An operator may bring its own key file in the same form instead.\n"
                     "Audited as transport_key_created (the file's path and the kcv).");
  std::string path;
  command.options().add_options()
      ("file", po::value(&path)->required(), "where to write the key (also the first argument)");
  command.positional().add("file", 1);
  if (auto stop = command.parse(args)) return *stop;
  if (exists(path)) return refused("transport key file " + path + " already exists; refusing to overwrite it");
  return command.with_store([&](Store& store) -> int {
    auto key = create_transport_key_file(path);
    if (!key) return refused(key.error().message);
    const std::string kcv = key_check_value(*key);
    key->wipe();
    auto logged = store.db.with_transaction(
        [&] { return store.audit.append(actor_name(), "transport_key_created", path, "kcv=" + kcv); });
    if (!logged) {
      ::unlink(path.c_str());  // a key the audit log does not know of is not handed out
      return refused(logged.error().message + "; the key file was removed");
    }
    std::cout << "kcv=" << kcv << "\n";
    std::cerr << "adsctl: wrote a new transport key to " << path << " (mode 0600). Give it to the operator apart "
              << "from the exports; both sides should see kcv=" << kcv << ".\n";
    return kExitOk;
  });
}

// Reads every personalised card's latest record and keys and writes the file (not yet published).
// Each read is its own statement, not one long transaction: ads-server keeps personalising meanwhile,
// and a card personalised after the listing simply waits for the next export.
Result<std::size_t> write_subscribers(Store& store, SubscriberExport& format, ExportFile& file) {
  auto cards = store.card_stock().list_cards(ads::CardState::Personalised, kMaxExportCards + 1);
  if (!cards) return cards.error();
  if (cards->size() > static_cast<std::size_t>(kMaxExportCards)) {
    return fail("more than " + std::to_string(kMaxExportCards) + " personalised cards: too many for one export file");
  }
  if (auto w = file.write(format.preamble(cards->size(), ads::system_now())); !w) return w.error();
  auto records = store.card_records();
  for (const auto& card : *cards) {
    auto history = records.history(card.iccid);
    if (!history) return history.error();
    if (history->empty()) {
      return fail(Errc::Corrupt, "card " + card.iccid +
                                     " is personalised but has no record; check it with `adsctl card show " +
                                     card.iccid + "`");
    }
    const ads::CardRecordVersion& latest = history->back();
    auto keys = records.keys_of(card.iccid, latest.version);
    if (!keys) return keys.error();
    auto line = format.line({latest.iccid, latest.imsi, latest.msisdn, keys->ki, keys->opc});
    if (!line) return line.error();
    auto written = file.write(*line);
    secure_wipe(line->data(), line->size());
    if (!written) return written.error();
  }
  if (auto finished = file.finish(); !finished) return finished.error();
  return cards->size();
}

int run_subscribers(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(
      command_name, "--transport-key FILE --out FILE [--clear-keys] [--state personalised]",
      "Writes every personalised card's latest record to a CSV file for an operator's AuC (no live HLR link):\n"
      "comment lines (# cardperso subscriber export v1, # keys: aes-256-gcm kcv=XXXXXX, # records: N,\n"
      "# created: UTC time), the header iccid,imsi,msisdn,algorithm,ki,opc, then one line per card\n"
      "(algorithm: milenage). Ki and OPc are each sealed with AES-256-GCM under the transport key (hex of\n"
      "nonce || ciphertext || tag, bound to their column, ICCID and IMSI; docs/operations.md tells how to\n"
      "open them). The file is written with mode 0600 beside --out and renamed into place; an existing\n"
      "--out is refused. With --clear-keys instead of --transport-key, Ki and OPc are written in clear: only\n"
      "for a link that is itself protected.\n"
      "Audited as subscribers_exported (or subscribers_exported_clear): the file, the record count and kcv.");
  std::string key_path, out_path, state = "personalised";
  command.options().add_options()
      ("transport-key", po::value(&key_path), "the AES-256 transport key file (64 hex digits, mode 0600)")
      ("out", po::value(&out_path)->required(), "the export file to create")
      ("clear-keys", po::bool_switch(), "write Ki and OPc in clear instead (audited as such)")
      ("state", po::value(&state)->default_value(state), "which cards: personalised (the only state with a record)");
  if (auto stop = command.parse(args)) return *stop;
  const bool clear_keys = command.vm()["clear-keys"].as<bool>();
  if (state != "personalised") {
    return command.usage_error("--state must be personalised: only personalised cards have a record");
  }
  if (out_path.empty()) return command.usage_error("--out must name a file");
  if (clear_keys && !key_path.empty()) {
    return command.usage_error("pass either --transport-key or --clear-keys, not both");
  }
  if (!clear_keys && key_path.empty()) {
    return command.usage_error(
        "pass --transport-key FILE to seal Ki and OPc (make one with `adsctl export new-transport-key FILE`), or "
        "--clear-keys to write them in clear");
  }
  if (exists(out_path)) {
    return refused(out_path +
                   " already exists; refusing to overwrite it: choose another --out, or move the old export away");
  }

  std::optional<SubscriberExport> format;
  if (clear_keys) {
    format.emplace(SubscriberExport::clear());
  } else {
    auto key = read_transport_key_file(key_path);
    if (!key) return refused(key.error().message);
    format.emplace(SubscriberExport::sealed(*key));
  }
  return command.with_store([&](Store& store) -> int {
    if (clear_keys) {
      std::cerr << "adsctl: WARNING: writing Ki and OPc in clear to " << out_path
                << "; anyone who reads the file can clone every card in it. Move it only over a protected link, "
                   "delete it once loaded, and prefer --transport-key.\n";
    }
    auto file = ExportFile::create(out_path);
    if (!file) return refused(file.error().message);
    auto written = write_subscribers(store, *format, *file);
    if (!written) return refused(written.error().message + "; no export was written");
    const std::string event = clear_keys ? "subscribers_exported_clear" : "subscribers_exported";
    const std::string detail =
        "records=" + std::to_string(*written) + (clear_keys ? " keys=clear" : " kcv=" + format->kcv());
    // Audited before the file takes its name: an export the log does not show never appears.
    auto logged = store.db.with_transaction([&] { return store.audit.append(actor_name(), event, out_path, detail); });
    if (!logged) return refused(logged.error().message + "; no export was written");
    if (auto published = file->publish(); !published) {
      return refused(published.error().message + " (the audit log records this export as " + event + ")");
    }
    std::cout << "exported " << *written << " subscribers to " << out_path
              << (clear_keys ? " (Ki and OPc in clear)" : " (Ki and OPc sealed, kcv=" + format->kcv() + ")") << "\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> export_commands() {
  return {{"export new-transport-key", "FILE", "write a new AES-256 transport key for exports (audited)",
           run_new_transport_key},
          {"export subscribers", "--transport-key FILE --out FILE", "export personalised cards for an AuC (audited)",
           run_subscribers}};
}

}  // namespace cardperso::adsctl
