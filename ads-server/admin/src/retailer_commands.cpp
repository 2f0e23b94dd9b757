#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cardperso/ads/store/audit_log.hpp"
#include "cardperso/ads/store/card_codes.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"
#include "command_line.hpp"
#include "retailer_card_writer.hpp"
#include "retailer_serial.hpp"
#include "text_table.hpp"

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

struct ReaderEnrolment {
  std::string reader;
  const std::string& code_hex;  // refers to the wiped option value
  std::string code_file;
  bool from_stock = false;
};

Result<SecretBytes> parse_card_code(std::string_view text, const std::string& where) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first != std::string_view::npos) {
    auto code = ads::encode_adm_hex(text.substr(first, last - first + 1));
    if (code) return code;
  }
  return fail(where + " must hold the card's ADM code as 16 hex digits");
}

// The card code file: owner-only, small, 16 hex digits.
Result<SecretBytes> read_card_code_file(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return fail("card code file " + path + " is not a readable regular file");
  if ((st.st_mode & 077) != 0) return fail("card code file " + path + " is accessible by group or others; run `chmod 600 " + path + "`");
  if (st.st_size > 256) return fail("card code file " + path + " is too large; it must hold 16 hex digits");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail("cannot open card code file " + path);
  WipedString text;
  text.text.resize(256);
  const std::size_t got = std::fread(text.text.data(), 1, text.text.size(), f);
  std::fclose(f);
  text.text.resize(got);
  return parse_card_code(text.text, "card code file " + path);
}

std::string state_after(CardAfterFailure state) {
  switch (state) {
    case CardAfterFailure::Untouched:
    case CardAfterFailure::AdmRefused:
      return "nothing was written to the card and nothing was stored";
    case CardAfterFailure::PartlyWritten:
      return "the card is partly written (some of its PIN, PUK and key files exist) but still opens with its old "
             "ADM code; it cannot be enrolled as it is: put it aside. Nothing was stored";
    case CardAfterFailure::IssuerCodeUnsure:
      return "the card holds its keys, and may already hold a new ADM code that was not stored: it can no longer be "
             "trusted; discard it. Nothing was stored";
  }
  return "nothing was stored";
}

int enrol_in_reader(const ReaderEnrolment& e, Invocation& command, WipedString& pin, WipedString& puk,
                    bool pin_generated, bool puk_generated) {
  std::optional<SecretBytes> adm_code;
  if (!e.code_hex.empty()) {
    auto code = parse_card_code(e.code_hex, "--card-code-hex");
    if (!code) return command.usage_error(code.error().message);
    adm_code = std::move(*code);
  } else if (!e.code_file.empty()) {
    auto code = read_card_code_file(e.code_file);
    if (!code) return refused(code.error().message);
    adm_code = std::move(*code);
  }

  Store* store = command.open_store();
  if (store == nullptr) return kExitRefused;
  auto retailers = store->retailers();

  auto pcsc = cardperso::pcsc::PcscReader::open();
  if (!pcsc) return refused(pcsc.error().message);
  auto name = pcsc->pick_reader(e.reader);
  if (!name) return refused(name.error().message);
  auto card = pcsc->connect(*name);
  if (!card) return refused(card.error().message);
  cardperso::card::TransmitFn transmit = [&card](ByteView apdu) { return card->transmit(apdu); };

  auto serial = read_card_serial(transmit);
  if (!serial) return refused("cannot read the card's ICCID: " + serial.error().message + "; nothing was written");
  if (auto ok = ads::check_retailer_serial(*serial); !ok) {
    return refused("the card's ICCID " + *serial + " is not a retailer serial: " + ok.error().message);
  }
  auto existing = retailers.find(*serial);
  if (!existing) return refused(existing.error().message);
  if (existing->has_value()) {
    return refused("retailer " + *serial + " is already enrolled; this card is someone's retailer card. Nothing was written");
  }
  if (e.from_stock) {
    auto code = store->card_stock().blank_master_code(*serial);
    if (!code) return refused(code.error().message + "; nothing was written");
    adm_code = std::move(*code);
  }

  if (pin_generated) pin.text = random_digits(kPinDigits);
  if (puk_generated) puk.text = random_digits(kPukDigits);
  auto pin_code = cardsim::encode_pin(pin.text);
  auto puk_code = cardsim::encode_pin(puk.text);
  if (!pin_code || !puk_code) return refused("the PIN/PUK cannot be encoded; nothing was written");
  RetailerCardContent content;
  content.pin = std::move(*pin_code);
  content.puk = std::move(*puk_code);
  content.keys.key_version = 1;
  content.keys.k_ra = crypto::random_secret(16);
  content.keys.k_ia = crypto::random_secret(16);
  content.keys.k_s = crypto::random_secret(16);
  content.keys.k_d = crypto::random_secret(16);
  content.issuer_code = crypto::random_secret(ads::kIssuerCodeSize);

  const WriteOutcome written = write_retailer_card(transmit, adm_code->view(), content);
  if (!written.ok) {
    return refused("card " + *serial + " in reader '" + *name + "': " + written.failure.message + "; " +
                   state_after(written.failure.card) + ".");
  }
  const auto& k = content.keys;
  ads::RetailerKeys stored_keys{k.key_version, k.k_ra, k.k_ia, k.k_s, k.k_d};
  if (auto enrolled = retailers.enrol(*serial, stored_keys, content.issuer_code.view()); !enrolled) {
    return refused(enrolled.error().message + "; the card in reader '" + *name +
                   "' is written and its ADM code changed, but nothing was stored: it can never be used; discard it");
  }

  std::cout << "serial " << *serial << "\n";
  if (pin_generated) std::cout << "pin " << pin.text << "\n";
  if (puk_generated) std::cout << "puk " << puk.text << "\n";
  std::cout.flush();
  std::cerr << "adsctl: retailer " << *serial << " enrolled (key version " << int{k.key_version}
            << "); the card in reader '" << *name << "' holds its keys, read back after VERIFY CHV1.\n";
  if (pin_generated || puk_generated) {
    std::cerr << "adsctl: the PIN/PUK above are shown only this once and are not stored: hand them to the retailer.\n";
  }
  std::cerr << "adsctl: take the card out of the reader now (its PIN and ADM code are verified until it is reset).\n";
  return kExitOk;
}

int run_enrol(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--card-image OUT.json [--serial S] | --reader NAME (--card-code-hex H | --card-code-file F | --from-stock)"
      " [--pin PIN] [--puk PUK]",
      "Enrols a retailer card: generates its keys K_RA, K_IA, K_S, K_D and its issuer code, stores them\n"
      "sealed under the master key, and writes the card image (mode 0600) to load into the retailer card.\n"
      "Without --serial a 19-digit serial is generated; without --pin / --puk a random 6-digit PIN and\n"
      "8-digit PUK are generated and printed once (they are not stored anywhere).\n"
      "With --reader the blank SIM in that PC/SC reader becomes the retailer card: its ICCID is the serial,\n"
      "its current ADM code is given (--card-code-hex / --card-code-file: 16 hex digits) or found in the\n"
      "imported stock (--from-stock). The ADM code is presented once, never retried.");
  std::string serial_opt, card_image, reader_name, code_file;
  WipedString pin, puk, code_hex;
  command.options().add_options()
      ("card-image", po::value(&card_image), "where to write the retailer card image (JSON, mode 0600)")
      ("reader", po::value(&reader_name), "write the blank SIM in this PC/SC reader instead of an image")
      ("card-code-hex", po::value(&code_hex.text), "with --reader: the card's current ADM code, 16 hex digits")
      ("card-code-file", po::value(&code_file), "with --reader: a file (mode 0600) holding that code in hex")
      ("from-stock", po::bool_switch(), "with --reader: take the card's master code from the imported batches")
      ("serial", po::value(&serial_opt), "retailer card serial, 10 to 20 digits (default: generated)")
      ("pin", po::value(&pin.text), "retailer PIN, 4 to 8 digits (default: random 6 digits, printed once)")
      ("puk", po::value(&puk.text), "retailer PUK, 8 digits (default: random 8 digits, printed once)");
  if (auto stop = command.parse(args)) return *stop;

  const bool pin_generated = pin.text.empty();
  const bool puk_generated = puk.text.empty();
  const bool serial_generated = serial_opt.empty();
  if (!pin_generated && (!all_digits(pin.text) || pin.text.size() < 4 || pin.text.size() > 8)) {
    return command.usage_error("--pin must be 4 to 8 digits");
  }
  if (!puk_generated && (!all_digits(puk.text) || puk.text.size() != kPukDigits)) {
    return command.usage_error("--puk must be 8 digits");
  }
  if (!serial_generated) {
    if (auto ok = ads::check_retailer_serial(serial_opt); !ok) return command.usage_error(ok.error().message);
  }
  if (command.vm().count("reader")) {
    if (!card_image.empty() || !serial_generated) {
      return command.usage_error("--reader takes the serial from the card and writes no image: drop --card-image / --serial");
    }
    const int sources = int{!code_hex.text.empty()} + int{!code_file.empty()} + int{command.vm()["from-stock"].as<bool>()};
    if (sources != 1) {
      return command.usage_error("--reader needs exactly one of --card-code-hex, --card-code-file, --from-stock");
    }
    ReaderEnrolment e{reader_name, code_hex.text, code_file, command.vm()["from-stock"].as<bool>()};
    return enrol_in_reader(e, command, pin, puk, pin_generated, puk_generated);
  }
  if (card_image.empty()) return command.usage_error("give --card-image OUT.json or --reader NAME");
  if (!code_hex.text.empty() || !code_file.empty() || command.vm()["from-stock"].as<bool>()) {
    return command.usage_error("--card-code-hex / --card-code-file / --from-stock go with --reader");
  }
  struct stat st {};
  if (::lstat(card_image.c_str(), &st) == 0) {
    return refused("card image " + card_image + " already exists; choose another path (it may be another card's)");
  }

  Store* store = command.open_store();
  if (store == nullptr) return kExitRefused;
  auto retailers = store->retailers();

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

int run_list(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "", "Lists the retailer cards: serial, status, key version, failed "
                                             "authentications in the current window, enrolment time. Never keys.");
  return command.run(args, [](Store& store) -> int {
    auto all = store.retailers().list();
    if (!all) return refused(all.error().message);
    TextTable table(std::cout, {{"SERIAL", 22}, {"STATUS", 9}, {"KV", 5}, {"FAILURES", 10}, {"CREATED"}});
    for (const auto& r : *all) {
      table.row(r.serial, ads::to_string(r.status), r.key_version, r.failed_auth_count, format_time(r.created_at));
    }
    return kExitOk;
  });
}

// revoke and unlock: one serial, one change.
int run_status_change(const std::vector<std::string>& args, const std::string& command_name, bool revoke) {
  Invocation command(command_name, "SERIAL",
                     revoke ? "Revokes a retailer card for good: the server refuses it from now on. A revoked card is\n"
                              "never unlocked; enrol a new card instead."
                            : "Clears the lock set after repeated failed authentications, and the failure count.");
  std::string serial;
  command.options().add_options()("serial", po::value(&serial)->required(), "retailer card serial (also the first argument)");
  command.positional().add("serial", 1);
  if (auto stop = command.parse(args)) return *stop;
  if (auto ok = ads::check_retailer_serial(serial); !ok) return command.usage_error(ok.error().message);
  return command.with_store([&](Store& store) -> int {
    auto retailers = store.retailers();
    auto done = revoke ? retailers.revoke(serial) : retailers.unlock(serial);
    if (!done) return refused(done.error().message);
    std::cerr << "adsctl: retailer " << serial
              << (revoke ? " revoked.\n" : " unlocked; its failure count is cleared.\n");
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> retailer_commands() {
  auto revoke = [](const std::vector<std::string>& args, const std::string& name) { return run_status_change(args, name, true); };
  auto unlock = [](const std::vector<std::string>& args, const std::string& name) { return run_status_change(args, name, false); };
  return {{"retailer enrol", "", "enrol a retailer card (to a card image or onto a card in a reader)", run_enrol},
          {"retailer enroll", "", "the same as retailer enrol", run_enrol},
          {"retailer list", "", "list retailer cards (never their keys)", run_list},
          {"retailer revoke", "SERIAL", "revoke a retailer card for good", revoke},
          {"retailer unlock", "SERIAL", "clear a lock after failed authentications", unlock}};
}

}  // namespace cardperso::adsctl
