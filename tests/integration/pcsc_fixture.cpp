#include "pcsc_fixture.hpp"

#include <cstdlib>
#include <filesystem>

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

}  // namespace cardperso::testing
