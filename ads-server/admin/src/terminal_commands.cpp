// adsctl terminal enrol | list | revoke: the terminals (STEs) a retailer card may be used with, by
// their Ed25519 device public key (`ste-firmware --init-device-key` shows it at installation).
#include <iostream>
#include <optional>

#include "cardperso/ads/store/retailer_store.hpp"
#include "cardperso/ads/store/terminal_store.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

constexpr const char* kKeyHelp = "the terminal's device public key, 64 hex digits (ste-firmware --print-device-key)";

std::optional<ads::DevicePublicKey> parse_key(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;
  auto bytes = from_hex(std::string_view(text).substr(first, last - first + 1));
  if (!bytes || bytes->size() != 32) return std::nullopt;
  ads::DevicePublicKey key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

int run_enrol(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--retailer SERIAL --public-key HEX [--label TEXT]",
                     "Enrols a terminal for a retailer card: the ADS accepts the card only from terminals enrolled\n"
                     "for it. A terminal may be enrolled for several cards (one call each). Audited.");
  std::string serial, key_text, label;
  command.options().add_options()
      ("retailer", po::value(&serial)->required(), "the retailer card's serial")
      ("public-key", po::value(&key_text)->required(), kKeyHelp)
      ("label", po::value(&label)->default_value(""), "where the terminal is, for the list (at most 64 characters)");
  if (auto stop = command.parse(args)) return *stop;
  if (auto ok = ads::check_retailer_serial(serial); !ok) return command.usage_error("--retailer: " + ok.error().message);
  const auto key = parse_key(key_text);
  if (!key) return command.usage_error(std::string("--public-key: ") + kKeyHelp);
  return command.with_store([&](Store& store) -> int {
    if (auto done = store.terminals().enrol(*key, serial, label); !done) return refused(done.error().message);
    std::cerr << "adsctl: terminal " << to_hex(*key) << " enrolled for retailer " << serial << ".\n";
    return kExitOk;
  });
}

int run_list(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "[--retailer SERIAL]",
                     "Lists the terminal enrolments (all, or one retailer card's): device public key, retailer,\n"
                     "status, enrolment and revocation times, label.");
  std::string serial;
  command.options().add_options()("retailer", po::value(&serial), "only this retailer card's terminals");
  if (auto stop = command.parse(args)) return *stop;
  std::optional<std::string_view> only;
  if (command.vm().count("retailer")) {
    if (auto ok = ads::check_retailer_serial(serial); !ok) return command.usage_error("--retailer: " + ok.error().message);
    only = serial;
  }
  return command.with_store([&](Store& store) -> int {
    auto all = store.terminals().list(only);
    if (!all) return refused(all.error().message);
    TextTable table(std::cout, {{"PUBLIC KEY", 66}, {"RETAILER", 22}, {"STATUS", 9}, {"ENROLLED", 22}, {"REVOKED", 22},
                                {"LABEL"}});
    for (const auto& t : *all) {
      table.row(to_hex(t.public_key), t.retailer_serial, ads::to_string(t.state), format_time(t.enrolled_at),
                t.revoked_at ? format_time(*t.revoked_at) : std::string("-"), t.label);
    }
    return kExitOk;
  });
}

int run_revoke(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--public-key HEX [--retailer SERIAL]",
                     "Revokes a terminal (lost, stolen, replaced): for every retailer card, or only for one. The ADS\n"
                     "refuses it from the next handshake on. A revoked enrolment is never re-activated. Audited.");
  std::string serial, key_text;
  command.options().add_options()
      ("public-key", po::value(&key_text)->required(), kKeyHelp)
      ("retailer", po::value(&serial), "only this retailer card's enrolment");
  if (auto stop = command.parse(args)) return *stop;
  const auto key = parse_key(key_text);
  if (!key) return command.usage_error(std::string("--public-key: ") + kKeyHelp);
  std::optional<std::string_view> only;
  if (command.vm().count("retailer")) {
    if (auto ok = ads::check_retailer_serial(serial); !ok) return command.usage_error("--retailer: " + ok.error().message);
    only = serial;
  }
  return command.with_store([&](Store& store) -> int {
    auto n = store.terminals().revoke(*key, only);
    if (!n) return refused(n.error().message);
    std::cerr << "adsctl: terminal " << to_hex(*key) << " revoked (" << *n << " enrolment" << (*n == 1 ? "" : "s")
              << ").\n";
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> terminal_commands() {
  return {{"terminal enrol", "--retailer SERIAL --public-key HEX", "enrol a terminal's device key for a retailer card",
           run_enrol},
          {"terminal enroll", "", "the same as terminal enrol", run_enrol},
          {"terminal list", "[--retailer SERIAL]", "list terminal enrolments", run_list},
          {"terminal revoke", "--public-key HEX", "revoke a terminal (for all cards, or --retailer SERIAL)", run_revoke}};
}

}  // namespace cardperso::adsctl
