#include "pcsc_fixture.hpp"

#include <cstdlib>
#include <filesystem>

#include "cardperso/card/file_ids.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::testing {

void PcscFixture::SetUp() {
  char tmpl[] = "/tmp/cardperso-it-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  auto opened = cardperso::pcsc::PcscReader::open();
  ASSERT_TRUE(opened.ok()) << opened.error().message << " (run this test through tests/tools/pcsc-sandbox)";
  pcsc_.emplace(std::move(*opened));
}

void PcscFixture::TearDown() {
  sims_.clear();  // SIGTERM each card-sim, SIGKILL if it lingers
  pcsc_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

std::string PcscFixture::write_image(const cardsim::CardImage& image, const std::string& name) {
  std::string path = dir_ + "/" + name + ".json";
  auto saved = cardsim::save_image(path, image);
  EXPECT_TRUE(saved.ok()) << saved.error().message;
  return path;
}

CardSimProcess* PcscFixture::start_card(const std::string& image_path, int slot, std::vector<std::string> extra_args) {
  sims_.push_back(std::make_unique<CardSimProcess>(CARDPERSO_CARD_SIM_PATH, image_path, 35963 + slot, std::move(extra_args),
                                                   next_card_stderr_path()));
  CardSimProcess* sim = sims_.back().get();
  if (!sim->wait_for_event("inserted", std::chrono::seconds(10))) {
    ADD_FAILURE() << "card-sim did not report 'inserted'";
    return nullptr;
  }
  auto present = pcsc_->wait_for_card_present(slot == 0 ? kReader0 : kReader1, std::chrono::seconds(5));
  if (!present.ok() || !*present) {
    ADD_FAILURE() << "pcscd did not see the card: " << (present.ok() ? "timeout" : present.error().message);
    return nullptr;
  }
  return sim;
}

std::string PcscFixture::next_card_stderr_path() {
  if (card_stderr_dir_.empty()) return {};
  return card_stderr_dir_ + "/card-sim-" + std::to_string(sims_.size() + 1) + ".stderr";
}

void PcscFixture::power_cycle(CardSimProcess* sim) {
  ASSERT_NE(sim, nullptr);
  sim->send_command("remove");
  ASSERT_TRUE(sim->wait_for_event("removed", std::chrono::seconds(5)));
  auto absent = pcsc_->wait_for_card_absent(kReader0, std::chrono::seconds(5));
  ASSERT_TRUE(absent.ok() && *absent);
  sim->send_command("insert");
  ASSERT_TRUE(sim->wait_for_event("inserted", std::chrono::seconds(5)));
  auto present = pcsc_->wait_for_card_present(kReader0, std::chrono::seconds(5));
  ASSERT_TRUE(present.ok() && *present);
}

std::optional<cardperso::pcsc::PcscCard> PcscFixture::connect(const std::string& reader_name) {
  auto card = pcsc_->connect(reader_name);
  if (!card.ok()) {
    ADD_FAILURE() << card.error().message;
    return std::nullopt;
  }
  return std::move(*card);
}

cardperso::card::ApduResponse PcscFixture::run(cardperso::pcsc::PcscCard& card, const std::string& apdu_hex) {
  cardperso::card::TransmitFn transmit = [&card](ByteView apdu) { return card.transmit(apdu); };
  auto response = cardperso::card::exchange_apdu(transmit, hex(apdu_hex));
  if (!response.ok()) {
    ADD_FAILURE() << apdu_hex << ": " << response.error().message;
    return {};
  }
  return *response;
}

void PcscFixture::expect_card_computes_with(cardperso::pcsc::PcscCard& card, const Bytes& key_file) {
  ASSERT_EQ(key_file.size(), cardperso::card::kRetailerKeyFileSize);
  auto key = [&](std::size_t n) { return ByteView(key_file).subspan(1 + 16 * n, 16); };
  auto aes = [](ByteView k, ByteView block) {
    auto b = crypto::aes128_encrypt_block(k, block);
    return Bytes(b.begin(), b.end());
  };
  const std::string rn_a = "0f1e2d3c4b5a69788796a5b4c3d2e1f0", rn_b = "a55a0ff0c33c9669a55a0ff0c33c9669";
  Bytes mixed = hex(rn_a);
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] ^= hex(rn_b)[i];
  EXPECT_EQ(run(card, "A0A40000023F00").sw, 0x9000);  // 9F17, then GET RESPONSE
  EXPECT_EQ(run(card, "A0A40000027F50").sw, 0x9000);

  auto cryptogram = run(card, "A08A000010" + rn_a);
  EXPECT_EQ(cryptogram.sw, 0x9000);
  EXPECT_EQ(to_hex(cryptogram.data), to_hex(aes(key(0), hex(rn_a)))) << "RETAILER CRYPTOGRAM is not AES under K_RA";

  const std::string answer = to_hex(aes(key(1), hex(rn_b)));
  EXPECT_EQ(run(card, "A08C000020" + rn_b + answer).sw, 0x9000) << "CHECK ISSUER refused the right answer";
  std::string wrong = answer;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_EQ(run(card, "A08C000020" + rn_b + wrong).sw, 0x9862) << "CHECK ISSUER accepted a wrong answer";

  for (auto [p2, slot] : {std::pair{"01", 2}, std::pair{"02", 3}}) {
    auto input = run(card, std::string("A08E00") + p2 + "20" + rn_a + rn_b);
    EXPECT_EQ(input.sw, 0x9000);
    EXPECT_EQ(to_hex(input.data), to_hex(aes(key(static_cast<std::size_t>(slot)), mixed)))
        << "SESSION KEY INPUT P2 " << p2 << " is not AES(RN_ads XOR RN_ste) under its key";
  }
}

}  // namespace cardperso::testing
