#include "fixture_manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::bench {

namespace {

constexpr int kManifestVersion = 1;

Result<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path + " (make it with cardperso-loadgen --setup-only --work-dir DIR)");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string fixture_manifest_path(const std::string& work_dir) { return work_dir + "/loadgen-fixture.json"; }

Result<void> write_fixture_manifest(const Fixture& f, const std::string& path) {
  nlohmann::json shops = nlohmann::json::array();
  for (const auto& s : f.shops)
    shops.push_back({{"retailer_serial", s.retailer_serial},
                     {"retailer_pin", s.retailer_pin},
                     {"retailer_image", s.retailer_image},
                     {"iccid_prefix", s.iccid_prefix},
                     {"first_serial", s.first_serial},
                     {"blank_cards", s.blank_cards}});
  const nlohmann::json doc = {{"version", kManifestVersion},     {"db", f.db_path},
                              {"master_key", f.key_path},        {"batch_secret_file", f.batch_secret_file},
                              {"shops", std::move(shops)}};
  const std::string text = doc.dump(2) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + path);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return fail("cannot write " + path);
  return {};
}

Result<Fixture> read_fixture_manifest(const std::string& path) {
  auto text = read_all(path);
  if (!text) return text.error();
  try {
    const auto doc = nlohmann::json::parse(*text);
    if (doc.value("version", 0) != kManifestVersion) return fail(path + ": not a version-1 load fixture");
    Fixture f;
    f.db_path = doc.at("db").get<std::string>();
    f.key_path = doc.at("master_key").get<std::string>();
    f.batch_secret_file = doc.value("batch_secret_file", "");
    for (const auto& s : doc.at("shops")) {
      ShopCards c;
      c.retailer_serial = s.at("retailer_serial").get<std::string>();
      c.retailer_pin = s.at("retailer_pin").get<std::string>();
      c.retailer_image = s.at("retailer_image").get<std::string>();
      c.iccid_prefix = s.at("iccid_prefix").get<std::string>();
      c.first_serial = s.at("first_serial").get<std::uint64_t>();
      c.blank_cards = s.at("blank_cards").get<std::size_t>();
      f.shops.push_back(std::move(c));
    }
    if (f.shops.empty()) return fail(path + ": no shops");
    if (!f.batch_secret_file.empty()) {
      auto secret_text = read_all(f.batch_secret_file);
      if (!secret_text) return secret_text.error();
      std::string hex = secret_text->substr(0, secret_text->find_first_of("\r\n"));
      auto secret = from_hex(hex);
      secure_wipe(hex.data(), hex.size());
      secure_wipe(secret_text->data(), secret_text->size());
      if (!secret || secret->size() != 16) return fail(f.batch_secret_file + ": not a 16-byte hex batch secret");
      f.batch_secret = SecretBytes(ByteView(*secret));
      secure_wipe(secret->data(), secret->size());
    }
    return f;
  } catch (const nlohmann::json::exception& e) {
    return fail(path + ": " + e.what());
  }
}

}  // namespace cardperso::bench
