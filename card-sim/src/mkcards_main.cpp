// cardperso-mkcards: makes virtual card images (blank SIM batches, retailer cards) and shows them.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/cli/command_line.hpp"
#include "cardperso/cli/subcommands.hpp"
#include "cardperso/common/crypto.hpp"
#include "mkcards_show.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cardperso;
using namespace cardperso::cardsim;

namespace {

constexpr std::size_t kSecretSize = 16;

int failure(const std::string& message) {
  std::cerr << "cardperso-mkcards: " << message << "\n";
  return cli::kExitFailed;
}

Result<std::string> read_small_file(const std::string& path, std::size_t limit) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return fail("cannot read " + path + ": " + ec.message());
  if (size > limit) return fail(path + " is too large (" + std::to_string(size) + " bytes)");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return fail("cannot read " + path);
  return text.str();
}

// A batch secret file: 32 hex digits (surrounding whitespace allowed) or exactly 16 raw bytes.
Result<SecretBytes> read_secret(const std::string& path) {
  auto text = read_small_file(path, 1024);
  if (!text) return text.error();
  std::string s = std::move(*text);
  SecretBytes raw(view(s));
  const auto first = s.find_first_not_of(" \t\r\n");
  const auto last = s.find_last_not_of(" \t\r\n");
  if (first != std::string::npos) {
    auto trimmed = std::string_view(s).substr(first, last - first + 1);
    if (trimmed.size() == 2 * kSecretSize) {
      if (auto b = from_hex(trimmed); b && b->size() == kSecretSize) {
        SecretBytes secret(*b);
        secure_wipe(b->data(), b->size());
        secure_wipe(s.data(), s.size());
        return secret;
      }
    }
  }
  secure_wipe(s.data(), s.size());
  if (raw.size() == kSecretSize) return raw;
  return fail("secret file " + path + " must hold 32 hex digits or 16 raw bytes (it holds " +
              std::to_string(raw.size()) + " bytes); use --new-secret to create one");
}

Result<void> create_secret(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return fail("cannot create secret file " + path + ": " + std::strerror(errno));
  auto secret = crypto::random_secret(kSecretSize);
  std::string text = to_hex(secret.view()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  secure_wipe(text.data(), text.size());
  if (!ok) return fail("cannot write secret file " + path);
  return {};
}

bool digits_only(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

int blank_batch(const std::vector<std::string>& args, const std::string& name) {
  std::string secret_file, prefix, out_dir;
  std::uint64_t first = 0, count = 0;
  cli::CommandLine cl({.name = name,
                       .usage = "--secret-file F [--new-secret] --iccid-prefix P --first N --count C --out DIR",
                       .description = "Makes blank SIM images, each holding its master code (ADM1) and its card key "
                                      "(MF/000C, for CARD PROOF), both derived from the batch secret; prints the "
                                      "ICCIDs made, never the codes or keys."});
  cl.options().add_options()(
      "secret-file", po::value(&secret_file)->required(), "batch secret: 32 hex digits or 16 raw bytes")(
      "new-secret", "create the secret file (mode 0600) if it does not exist")(
      "iccid-prefix", po::value(&prefix)->required(), "leading ICCID digits, e.g. 8988211")(
      "first", po::value(&first)->required(), "serial number of the first card")(
      "count", po::value(&count)->required(), "number of cards (1..100000)")(
      "out", po::value(&out_dir)->required(), "directory for the images <iccid>.json");
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  auto usage_error = [&cl](const std::string& message) { return cl.usage_error(message); };
  if (!digits_only(prefix) || prefix.size() < 2 || prefix.size() >= 18)
    return usage_error("--iccid-prefix must be 2..17 digits");
  if (count == 0 || count > 100000) return usage_error("--count must be 1..100000");
  const std::size_t serial_digits = 18 - prefix.size();
  std::uint64_t limit = 1;
  for (std::size_t i = 0; i < serial_digits && limit < 10000000000000000000ULL; ++i) limit *= 10;
  if (first >= limit || count > limit - first)
    return usage_error("--first/--count do not fit in " + std::to_string(serial_digits) + " serial digits");

  if (vm.count("new-secret") && !fs::exists(secret_file)) {
    if (auto made = create_secret(secret_file); !made) return failure(made.error().message);
    std::cerr << "created batch secret " << secret_file << "\n";
  }
  auto secret = read_secret(secret_file);
  if (!secret) return failure(secret.error().message);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return failure("cannot create " + out_dir + ": " + ec.message());
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string serial = std::to_string(first + i);
    std::string iccid18 = prefix + std::string(serial_digits - serial.size(), '0') + serial;
    std::string iccid = iccid18 + luhn_digit(iccid18);
    const std::string path = (fs::path(out_dir) / (iccid + ".json")).string();
    if (fs::exists(path)) return failure(path + " exists; a card image is never overwritten");
    // Master code and card key both from the batch secret (docs/cards.md §2.1, §2.3).
    if (auto saved = save_image(path, make_stock_sim(iccid, secret->view())); !saved)
      return failure(saved.error().message);
    std::cout << iccid << "\n";
  }
  return 0;
}

Result<RetailerKeys> read_keys(const std::string& path) {
  auto text = read_small_file(path, 64 * 1024);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  secure_wipe(text->data(), text->size());
  if (j.is_discarded() || !j.is_object()) return fail(path + ": not a JSON object");
  RetailerKeys keys;
  auto v = j.find("key_version");
  if (v == j.end() || !v->is_number_unsigned() || v->get<unsigned>() > 255)
    return fail(path + ": key_version must be 0..255");
  keys.key_version = static_cast<std::uint8_t>(v->get<unsigned>());
  for (auto [name, slot] : {std::pair{"k_ra", &keys.k_ra}, std::pair{"k_ia", &keys.k_ia},
                            std::pair{"k_s", &keys.k_s}, std::pair{"k_d", &keys.k_d}}) {
    auto k = j.find(name);
    std::optional<Bytes> b;
    if (k != j.end() && k->is_string()) b = from_hex(k->get<std::string>());
    if (!b || b->size() != 16) return fail(path + ": " + name + " must be 32 hex digits");
    *slot = SecretBytes(*b);
    secure_wipe(b->data(), b->size());
  }
  return keys;
}

int retailer(const std::vector<std::string>& args, const std::string& name) {
  std::string serial, pin, puk, issuer_hex, keys_file, out;
  cli::CommandLine cl({.name = name,
                       .usage = "--serial S --pin P --puk U --issuer-code-hex X --keys-file F --out FILE",
                       .description = "Makes a retailer card image holding the four retailer keys."});
  cl.options().add_options()("serial", po::value(&serial)->required(), "card serial (EF 2FE2)")(
      "pin", po::value(&pin)->required(), "retailer PIN, 4..8 digits")(
      "puk", po::value(&puk)->required(), "PUK, 4..8 digits")(
      "issuer-code-hex", po::value(&issuer_hex)->required(), "ADM1 issuer code, 16 hex digits")(
      "keys-file", po::value(&keys_file)->required(),
      "JSON {\"key_version\":1,\"k_ra\":hex,\"k_ia\":hex,\"k_s\":hex,\"k_d\":hex}")(
      "out", po::value(&out)->required(), "image file to write (never overwritten)");
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  auto usage_error = [&cl](const std::string& message) { return cl.usage_error(message); };
  auto issuer = from_hex(issuer_hex);
  if (!issuer || issuer->size() != 8) return usage_error("--issuer-code-hex must be 16 hex digits");
  SecretBytes issuer_code(*issuer);
  secure_wipe(issuer->data(), issuer->size());
  if (auto p = encode_pin(pin); !p) return usage_error("--pin: " + p.error().message);
  if (auto p = encode_pin(puk); !p) return usage_error("--puk: " + p.error().message);
  if (serial.empty() || serial.size() > 32) return usage_error("--serial must be 1..32 characters");
  for (char c : serial)
    if (c < 0x20 || c > 0x7E) return usage_error("--serial must be printable ASCII");
  auto keys = read_keys(keys_file);
  if (!keys) return failure(keys.error().message);
  if (fs::exists(out)) return failure(out + " exists; a card image is never overwritten");
  if (auto saved = save_image(out, make_retailer_card(serial, pin, puk, issuer_code.view(), *keys)); !saved)
    return failure(saved.error().message);
  std::cout << out << "\n";
  return 0;
}

int show(const std::vector<std::string>& args, const std::string& name) {
  std::string file;
  cli::CommandLine cl({.name = name,
                       .usage = "FILE",
                       .description = "Prints a card image's file tree; codes and keys are not shown."});
  cl.options().add_options()("file", po::value(&file)->required(), "card image");
  cl.positional().add("file", 1);
  po::variables_map vm;
  if (auto stop = cl.parse(args, vm)) return *stop;
  auto image = load_image(file);
  if (!image) return failure(image.error().message);
  std::cout << describe_image(*image);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::SubcommandProgram program{
      .name = "cardperso-mkcards",
      .description = "Makes virtual card images for card-sim (blank SIM batches, retailer cards) and shows them.",
      .footer = "Exit codes: 0 done, 1 usage error, 2 refused or failed.",
      .commands = {
          {"blank-batch", "", "make a batch of blank SIM images (master code and card key from a batch secret)", blank_batch},
          {"retailer", "", "make a retailer card image", retailer},
          {"show", "FILE", "print a card image without its secrets", show},
      }};
  return cli::run_subcommands(program, std::vector<std::string>(argv + 1, argv + argc));
}
