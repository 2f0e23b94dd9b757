// adsctl batch import-secret | import-csv | assign | list: the issuer's stock of blank cards.
#include <iostream>

#include "batch_secret_file.hpp"
#include "cardperso/ads/store/card_stock.hpp"
#include "command_line.hpp"
#include "text_table.hpp"

namespace cardperso::adsctl {

namespace {

int run_import_secret(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--name N --secret-file F --iccid-prefix P --first N --count C",
      "Imports a batch of blank cards made from one batch secret: ICCIDs prefix || serial || Luhn digit for\n"
      "serials first .. first+count-1, exactly as `cardperso-mkcards blank-batch` numbers them. The secret is\n"
      "stored sealed under the master key; each card's master code is derived from it when needed.");
  std::string name, secret_file, prefix;
  std::uint64_t first = 0, count = 0;
  command.options().add_options()
      ("name", po::value(&name)->required(), "batch name (1 to 64 printable characters, unique)")
      ("secret-file", po::value(&secret_file)->required(), "batch secret: 32 hex digits or 16 raw bytes, mode 0600")
      ("iccid-prefix", po::value(&prefix)->required(), "leading ICCID digits (2 to 17), e.g. 8988211")
      ("first", po::value(&first)->required(), "serial number of the first card")
      ("count", po::value(&count)->required(), "number of cards (1 to 100000)");
  if (auto stop = command.parse(args)) return *stop;
  auto secret = read_batch_secret_file(secret_file);
  if (!secret) return refused(secret.error().message);
  return command.with_store([&](Store& store) -> int {
    auto id = store.card_stock().import_secret_batch(name, secret->view(), prefix, first, count);
    if (!id) return refused(id.error().message + "; nothing was imported");
    std::cout << "batch " << name << " imported: " << count << " cards\n";
    return kExitOk;
  });
}

int run_import_csv(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--name N --file F",
      "Imports a manufacturer's card file in pySim-prog CSV form: a header naming iccid and one of adm1,\n"
      "pin_adm (ASCII digits, padded with FF to 8 bytes) or pin_adm_hex (16 hex digits). Other columns are\n"
      "ignored. The whole file is one transaction: any error imports nothing. Codes are stored sealed.");
  std::string name, file;
  command.options().add_options()
      ("name", po::value(&name)->required(), "batch name (1 to 64 printable characters, unique)")
      ("file", po::value(&file)->required(), "the CSV file");
  return command.run(args, [&](Store& store) -> int {
    auto stock = store.card_stock();
    auto id = stock.import_csv_batch(name, file);
    if (!id) return refused(id.error().message);
    auto batches = stock.list_batches();
    std::int64_t cards = 0;
    if (batches) {
      for (const auto& b : *batches)
        if (b.id == *id) cards = b.card_count;
    }
    std::cout << "batch " << name << " imported: " << cards << " cards\n"
              << "note: a CSV batch's cards hold no card key, so they cannot prove they are the cards the CSV\n"
                 "      names; ads-server --require-card-key refuses them\n";
    std::cerr << "adsctl: the file holds the cards' ADM codes in clear: delete it or keep it offline.\n";
    return kExitOk;
  });
}

int run_assign(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "--name N --retailer SERIAL",
                        "Assigns a batch to a retailer: only that retailer may personalise its cards.");
  std::string name, retailer;
  command.options().add_options()
      ("name", po::value(&name)->required(), "batch name")
      ("retailer", po::value(&retailer)->required(), "retailer card serial");
  return command.run(args, [&](Store& store) -> int {
    if (auto done = store.card_stock().assign_batch(name, retailer); !done) return refused(done.error().message);
    std::cout << "batch " << name << " assigned to retailer " << retailer << "\n";
    return kExitOk;
  });
}

int run_list(const std::vector<std::string>& args, const std::string& command_name) {
  Invocation command(command_name, "",
                        "Lists the batches: kind, whether its cards hold card keys (a secret batch's do, a CSV\n"
                        "batch's do not: ads-server --require-card-key refuses those), retailer, and how many cards\n"
                        "are in each state. Never secrets.");
  return command.run(args, [](Store& store) -> int {
    auto batches = store.card_stock().list_batches();
    if (!batches) return refused(batches.error().message);
    TextTable table(std::cout, {{"NAME", 20}, {"KIND", 8}, {"CARD KEYS", 11}, {"RETAILER", 22}, {"CARDS", 8}, {"BLANK", 8},
                                {"RUNNING", 8}, {"PERSO", 8}, {"FAILED", 8}, {"SPOILED", 9}, {"CREATED"}});
    for (const auto& b : *batches) {
      table.row(b.name, ads::to_string(b.kind), b.kind == ads::BatchKind::Secret ? "yes" : "none", b.retailer_serial.value_or("-"), b.card_count, b.blank, b.in_progress,
                b.personalised, b.failed, b.spoiled, format_time(b.created_at));
    }
    return kExitOk;
  });
}

}  // namespace

std::vector<cli::Subcommand> batch_commands() {
  return {{"batch import-secret", "", "import blank cards from a batch secret and an ICCID range", run_import_secret},
          {"batch import-csv", "", "import blank cards from a manufacturer's pySim-prog CSV file", run_import_csv},
          {"batch assign", "", "assign a batch to a retailer", run_assign},
          {"batch list", "", "list batches and their cards' states", run_list}};
}

}  // namespace cardperso::adsctl
