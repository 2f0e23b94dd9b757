#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/crypto.hpp"
#include "command_line.hpp"
#include "retailer_serial.hpp"

namespace cardperso::adsctl {

namespace {

constexpr std::size_t kPinDigits = 6;
constexpr std::size_t kPukDigits = 8;

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// A std::string that held a PIN is wiped before it is freed.
struct WipedString {
  std::string text;
  ~WipedString() {
    if (!text.empty()) secure_wipe(text.data(), text.size());
  }
};

int run_enrol(const std::vector<std::string>& args) {
  const Command command{
      "retailer enrol", "--card-image OUT.json [--serial S] [--pin PIN] [--puk PUK]",
      "Enrols a retailer card: generates its keys K_RA, K_IA, K_S, K_D and its issuer code, stores them\n"
      "sealed under the master key, and writes the card image (mode 0600) to load into the retailer card.\n"
      "Without --serial a 19-digit serial is generated; without --pin / --puk a random 6-digit PIN and\n"
      "8-digit PUK are generated and printed once (they are not stored anywhere)."};
  CommonOptions common;
  std::string serial_opt, card_image;
  WipedString pin, puk;
  po::options_description options("Options");
  options.add_options()
      ("card-image", po::value(&card_image)->required(), "where to write the retailer card image (JSON, mode 0600)")
      ("serial", po::value(&serial_opt), "retailer card serial, 10 to 20 digits (default: generated)")
      ("pin", po::value(&pin.text), "retailer PIN, 4 to 8 digits (default: random 6 digits, printed once)")
      ("puk", po::value(&puk.text), "retailer PUK, 8 digits (default: random 8 digits, printed once)");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;

  const bool pin_generated = pin.text.empty();
  const bool puk_generated = puk.text.empty();
  const bool serial_generated = serial_opt.empty();
  if (!pin_generated && (!all_digits(pin.text) || pin.text.size() < 4 || pin.text.size() > 8)) {
    return usage_error("--pin must be 4 to 8 digits", command.name);
  }
  if (!puk_generated && (!all_digits(puk.text) || puk.text.size() != kPukDigits)) {
    return usage_error("--puk must be 8 digits", command.name);
  }
  if (!serial_generated) {
    if (auto ok = ads::check_retailer_serial(serial_opt); !ok) return usage_error(ok.error().message, command.name);
  }
  struct stat st {};
  if (::lstat(card_image.c_str(), &st) == 0) {
    return refused("card image " + card_image + " already exists; choose another path (it may be another card's)");
  }

  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::RetailerStore retailers(store->db, store->key, audit, actor_name());

  const std::string serial = serial_generated ? generate_retailer_serial() : serial_opt;
  if (pin_generated) pin.text = random_digits(kPinDigits);
  if (puk_generated) puk.text = random_digits(kPukDigits);

  cardsim::RetailerKeys card_keys;
  card_keys.key_version = 1;
  card_keys.k_ra = crypto::random_secret(16);
  card_keys.k_ia = crypto::random_secret(16);
  card_keys.k_s = crypto::random_secret(16);
  card_keys.k_d = crypto::random_secret(16);
  const SecretBytes issuer_code = crypto::random_secret(ads::kIssuerCodeSize);

  cardsim::CardImage image;
  try {
    image = cardsim::make_retailer_card(serial, pin.text, puk.text, issuer_code.view(), card_keys);
  } catch (const std::invalid_argument& e) {
    return refused(std::string("cannot build the retailer card: ") + e.what());
  }
  // The image first, the database second: the database commit is what makes the card valid, and a
  // refused commit (e.g. a duplicate serial) removes the image again.
  if (auto saved = cardsim::save_image(card_image, image); !saved) {
    return refused("cannot write card image " + card_image + ": " + saved.error().message + "; nothing was enrolled");
  }
  ads::RetailerKeys stored_keys{card_keys.key_version, card_keys.k_ra, card_keys.k_ia, card_keys.k_s, card_keys.k_d};
  if (auto enrolled = retailers.enrol(serial, stored_keys, issuer_code.view()); !enrolled) {
    ::unlink(card_image.c_str());
    return refused(enrolled.error().message + "; no card image was kept");
  }

  std::cout << "serial " << serial << "\n";
  if (pin_generated) std::cout << "pin " << pin.text << "\n";
  if (puk_generated) std::cout << "puk " << puk.text << "\n";
  std::cout.flush();
  std::cerr << "adsctl: retailer " << serial << " enrolled (key version " << int{card_keys.key_version}
            << "); card image written to " << card_image << ".\n";
  if (pin_generated || puk_generated) {
    std::cerr << "adsctl: the PIN/PUK above are shown only this once and are not stored: hand them to the retailer.\n";
  }
  std::cerr << "adsctl: load the image into the retailer card, then delete " << card_image << ".\n";
  return kExitOk;
}

int run_list(const std::vector<std::string>& args) {
  const Command command{"retailer list", "", "Lists the retailer cards: serial, status, key version, failed "
                                             "authentications in the current window, enrolment time. Never keys."};
  CommonOptions common;
  po::options_description options("Options");
  add_common_options(options, common);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, {}, common, vm)) return *stop;
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::RetailerStore retailers(store->db, store->key, audit, actor_name());
  auto all = retailers.list();
  if (!all) return refused(all.error().message);
  std::cout << std::left << std::setw(22) << "SERIAL" << std::setw(9) << "STATUS" << std::setw(5) << "KV" << std::setw(10)
            << "FAILURES" << "CREATED\n";
  for (const auto& r : *all) {
    std::cout << std::left << std::setw(22) << r.serial << std::setw(9) << ads::to_string(r.status) << std::setw(5)
              << r.key_version << std::setw(10) << r.failed_auth_count << format_time(r.created_at) << "\n";
  }
  return kExitOk;
}

// revoke and unlock: one serial, one change.
int run_status_change(const std::vector<std::string>& args, bool revoke) {
  const Command command =
      revoke ? Command{"retailer revoke", "SERIAL",
                       "Revokes a retailer card for good: the server refuses it from now on. A revoked card is\n"
                       "never unlocked; enrol a new card instead."}
             : Command{"retailer unlock", "SERIAL",
                       "Clears the lock set after repeated failed authentications, and the failure count."};
  CommonOptions common;
  std::string serial;
  po::options_description options("Options");
  options.add_options()("serial", po::value(&serial)->required(), "retailer card serial (also the first argument)");
  add_common_options(options, common);
  po::positional_options_description positional;
  positional.add("serial", 1);
  po::variables_map vm;
  if (auto stop = parse(command, args, options, positional, common, vm)) return *stop;
  if (auto ok = ads::check_retailer_serial(serial); !ok) return usage_error(ok.error().message, command.name);
  auto store = open_store(common);
  if (!store) return refused(store.error().message);
  ads::AuditLog audit(store->db, store->key);
  ads::RetailerStore retailers(store->db, store->key, audit, actor_name());
  auto done = revoke ? retailers.revoke(serial) : retailers.unlock(serial);
  if (!done) return refused(done.error().message);
  std::cerr << "adsctl: retailer " << serial << (revoke ? " revoked.\n" : " unlocked; its failure count is cleared.\n");
  return kExitOk;
}

void print_retailer_help() {
  std::cout << "Usage: adsctl retailer <enrol|list|revoke|unlock> [options]\n\n"
               "  enrol    enrol a retailer card and write its card image\n"
               "  list     list retailer cards\n"
               "  revoke   revoke a retailer card for good\n"
               "  unlock   clear a lock after failed authentications\n\n"
               "Run `adsctl retailer <subcommand> --help` for the options of each.\n";
}

}  // namespace

int run_retailer(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_retailer_help();
    return kExitUsage;
  }
  const std::string& sub = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h") {
    print_retailer_help();
    return kExitOk;
  }
  if (sub == "enrol" || sub == "enroll") return run_enrol(rest);
  if (sub == "list") return run_list(rest);
  if (sub == "revoke") return run_status_change(rest, true);
  if (sub == "unlock") return run_status_change(rest, false);
  return usage_error("unknown subcommand '" + sub + "'", "retailer");
}

}  // namespace cardperso::adsctl
