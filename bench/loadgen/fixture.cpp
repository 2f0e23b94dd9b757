#include "fixture.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/testing/run_program.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace cardperso::bench {
namespace {

constexpr auto kAdsctlTimeout = std::chrono::seconds(60);
constexpr std::size_t kIccidBody = 18;
const std::string kIccidPrefix = "8988211";

Result<void> adsctl(const FixturePlan& plan, const Fixture& f, std::vector<std::string> args) {
  std::vector<std::string> argv{plan.adsctl};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--db", f.db_path, "--master-key", f.key_path});
  auto ran = testing::run_to_success(argv, kAdsctlTimeout);
  if (!ran) return ran.error();
  return {};
}

Result<void> write_secret_file(const std::string& path, const SecretBytes& secret) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + path);
  std::string text = to_hex(secret.view()) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  secure_wipe(text.data(), text.size());
  ::close(fd);
  if (!ok) return fail("cannot write " + path);
  return {};
}

}  // namespace

std::string batch_iccid(const std::string& prefix, std::uint64_t serial) {
  const std::string digits = std::to_string(serial);
  std::string body = prefix + std::string(kIccidBody - prefix.size() - digits.size(), '0') + digits;
  body.push_back(cardsim::luhn_digit(body));
  return body;
}

Result<Fixture> make_fixture(const FixturePlan& plan) {
  const auto started = std::chrono::steady_clock::now();
  Fixture f;
  f.db_path = plan.db.empty() ? plan.dir + "/ads.db" : plan.db;
  f.key_path = plan.dir + "/ads-master.key";
  if (auto r = testing::run_to_success({plan.adsctl, "init", "--db", f.db_path, "--master-key", f.key_path}, kAdsctlTimeout); !r)
    return r.error();

  std::vector<ShopCards> retailers(plan.retailers);
  for (std::size_t i = 0; i < plan.retailers; ++i) {
    auto& r = retailers[i];
    r.retailer_serial = fmt::format("7{:011}", i + 1);
    r.retailer_pin = fmt::format("{:04}", 1000 + i % 9000);
    r.retailer_image = fmt::format("{}/retailer-{}.json", plan.dir, i + 1);
    if (auto e = adsctl(plan, f, {"retailer", "enrol", "--serial", r.retailer_serial, "--pin", r.retailer_pin,
                                  "--puk", "12345678", "--card-image", r.retailer_image});
        !e)
      return e.error();
    // Every simulated shop's STE core has the test terminal's device key (CounterCores gives it).
    if (auto e = adsctl(plan, f, {"terminal", "enrol", "--retailer", r.retailer_serial, "--public-key",
                                  to_hex(testing::test_device_signer()->public_key()), "--label", "loadgen"});
        !e)
      return e.error();
  }

  f.shops.resize(plan.shops);
  for (std::size_t i = 0; i < plan.shops; ++i) {
    f.shops[i] = retailers[i % plan.retailers];
    f.shops[i].iccid_prefix = kIccidPrefix;
    f.shops[i].first_serial = 1 + static_cast<std::uint64_t>(i) * plan.blank_cards_per_shop;
    f.shops[i].blank_cards = plan.blank_cards_per_shop;
  }

  if (plan.blank_cards_per_shop > 0) {
    f.batch_secret = crypto::random_secret(16);
    const std::string secret_path = plan.dir + "/batch.secret";
    if (auto w = write_secret_file(secret_path, f.batch_secret); !w) return w.error();
    for (std::size_t i = 0; i < plan.shops; ++i) {
      const auto& s = f.shops[i];
      const std::string name = fmt::format("shop-{}", i + 1);
      if (auto e = adsctl(plan, f, {"batch", "import-secret", "--name", name, "--secret-file", secret_path,
                                    "--iccid-prefix", s.iccid_prefix, "--first", std::to_string(s.first_serial),
                                    "--count", std::to_string(s.blank_cards)});
          !e)
        return e.error();
      if (auto e = adsctl(plan, f, {"batch", "assign", "--name", name, "--retailer", s.retailer_serial}); !e)
        return e.error();
    }
    const std::size_t total = plan.shops * plan.blank_cards_per_shop;
    const std::string last = fmt::format("{:010}", total + 100);
    if (auto e = adsctl(plan, f, {"pool", "add", "--kind", "imsi", "--prefix", "00101", "--first",
                                  fmt::format("{:010}", 1), "--last", last});
        !e)
      return e.error();
    if (auto e = adsctl(plan, f, {"pool", "add", "--kind", "msisdn", "--prefix", "447700", "--first",
                                  fmt::format("{:07}", 1), "--last", fmt::format("{:07}", total + 100)});
        !e)
      return e.error();
    if (plan.keep_batch_secret)
      f.batch_secret_file = secret_path;
    else
      ::unlink(secret_path.c_str());
  }
  f.setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return f;
}

}  // namespace cardperso::bench
