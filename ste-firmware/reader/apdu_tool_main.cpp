// cardperso-apdu: send APDUs to a card through PC/SC, for tests and for integrators checking a reader.
//   cardperso-apdu --list
//   cardperso-apdu [--reader NAME] [--wait SECONDS] [--raw] A0A40000023F00 A0C0000016 ...
// Prints one line per command: the response data and SW in hex. With --raw no GET RESPONSE / Le
// correction is done, so each line is exactly what the card sent.
#include <iostream>
#include <string>
#include <vector>

#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/cli/command_line.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"

namespace po = boost::program_options;
using namespace cardperso;
using namespace cardperso::card;
using namespace cardperso::pcsc;

namespace {

std::string upper_hex(ByteView data) {
  std::string s = to_hex(data);
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string reader_name;
  double wait_seconds = 0;
  std::vector<std::string> apdus;
  cli::CommandLine cl({.name = "cardperso-apdu",
                       .usage = "[--list] [--reader NAME] [--wait SECONDS] [--atr] [--raw] APDU...",
                       .description = "Sends APDUs (hex) to a card through PC/SC and prints each answer's data and SW in hex.\n"
                                      "With --raw no GET RESPONSE / Le correction is done: each line is what the card sent."});
  cl.options().add_options()("list", "list the readers and exit")(
      "reader", po::value(&reader_name), "reader name (default: the first reader)")(
      "wait", po::value(&wait_seconds)->default_value(0), "wait up to SECONDS for a card")(
      "atr", "print the card's ATR first")("raw", "no GET RESPONSE / 6Cxx handling")(
      "apdu", po::value(&apdus)->composing(), "APDU in hex (also positional)");
  cl.positional().add("apdu", -1);
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) return *stop;
  if (wait_seconds < 0 || wait_seconds > 86400) return cl.usage_error("--wait must be between 0 and 86400 seconds");

  auto pcsc = PcscReader::open();
  if (!pcsc) {
    std::cerr << "cardperso-apdu: " << pcsc.error().message << "\n";
    return cli::kExitFailed;
  }
  if (vm.count("list")) {
    auto names = pcsc->list_readers();
    if (!names) {
      std::cerr << "cardperso-apdu: " << names.error().message << "\n";
      return cli::kExitFailed;
    }
    if (names->empty()) std::cerr << "cardperso-apdu: no reader found\n";
    for (const auto& n : *names) std::cout << n << "\n";
    return names->empty() ? cli::kExitFailed : cli::kExitOk;
  }
  std::vector<Bytes> commands;
  for (const auto& text : apdus) {
    auto bytes = from_hex(text);
    if (!bytes || bytes->size() < 4)
      return cl.usage_error("'" + text + "' is not an APDU in hex (at least 4 bytes: CLA INS P1 P2)");
    commands.push_back(std::move(*bytes));
  }

  auto reader = pcsc->pick_reader(reader_name);
  if (!reader) {
    std::cerr << "cardperso-apdu: " << reader.error().message << "\n";
    return cli::kExitFailed;
  }
  if (wait_seconds > 0) {
    auto present = pcsc->wait_for_card_present(*reader, std::chrono::milliseconds(static_cast<long>(wait_seconds * 1000)));
    if (!present) {
      std::cerr << "cardperso-apdu: " << present.error().message << "\n";
      return cli::kExitFailed;
    }
    if (!*present) {
      std::cerr << "cardperso-apdu: no card in reader '" << *reader << "' after " << wait_seconds << " s\n";
      return cli::kExitFailed;
    }
  }
  auto card = pcsc->connect(*reader);
  if (!card) {
    std::cerr << "cardperso-apdu: " << card.error().message << "\n";
    return cli::kExitFailed;
  }
  if (vm.count("atr")) {
    auto atr = card->atr();
    if (!atr) {
      std::cerr << "cardperso-apdu: " << atr.error().message << "\n";
      return cli::kExitFailed;
    }
    std::cout << "ATR " << upper_hex(*atr) << std::endl;
  }
  const bool raw = vm.count("raw") > 0;
  TransmitFn transmit = [&card](ByteView apdu) { return card->transmit(apdu); };
  for (const auto& command : commands) {
    Result<Bytes> line = fail("");
    if (raw) {
      line = transmit(command);
    } else {
      auto response = exchange_apdu(transmit, command);
      if (response) {
        Bytes out = response->data;
        put_u16(out, response->sw);
        line = std::move(out);
      } else {
        line = response.error();
      }
    }
    if (!line) {
      std::cerr << "cardperso-apdu: " << line.error().message << "\n";
      return cli::kExitFailed;
    }
    std::cout << upper_hex(*line) << std::endl;
  }
  return 0;
}
