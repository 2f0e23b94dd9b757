// Cards through the real PC/SC stack: pcscd + vpcd + card-sim processes + cardperso_pcsc.
// Each test case runs in its own tests/tools/pcsc-sandbox (own pcscd, own network namespace).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "cardperso/cardsim/card_builders.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "pcsc_fixture.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::testing;
using namespace std::chrono_literals;

namespace {

const std::string kIccid = "8988211320300000028";
const Bytes kBatchSecret = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

std::string verify_adm_apdu() {
  SecretBytes code = derive_master_code(kBatchSecret, kIccid);
  return "A020000A08" + to_hex(code.view());
}

// A blank SIM that opens with the batch's master code.
CardImage blank_sim() {
  SecretBytes code = derive_master_code(kBatchSecret, kIccid);
  return make_blank_sim(kIccid, code.view());
}

// A blank SIM plus one EF 3F00/6F10 (8 bytes) readable by anyone, updatable under ADM only.
CardImage blank_sim_with_adm_file() {
  CardImage image = blank_sim();
  CardFile f;
  f.path = "3F00/6F10";
  f.type = FileType::Ef;
  f.structure = EfStructure::Transparent;
  f.access.read = 0x0;
  f.access.update = 0xA;
  f.data = Bytes(8, 0xFF);
  image.files.push_back(f);
  return image;
}

CardImage retailer_card() {
  RetailerKeys keys;
  keys.k_ra = SecretBytes(hex("000102030405060708090a0b0c0d0e0f"));  // FIPS-197 appendix C.1's key
  keys.k_ia = SecretBytes(hex("102132435465768798a9bacbdcedfe0f"));
  keys.k_s = SecretBytes(hex("2030405060708090a0b0c0d0e0f00010"));
  keys.k_d = SecretBytes(hex("30405060708090a0b0c0d0e0f0001020"));
  return make_retailer_card("4711000001", "1234", "12345678", hex("3132333435363738"), keys);
}

// What a call in another thread returned, reduced to its error text ("" = success): GCC 12 warns
// falsely (-Wfree-nonheap-object) on std::future<Result<...>>.
template <class T>
std::string error_text(const Result<T>& r) {
  return r.ok() ? std::string() : r.error().message;
}

std::string run_shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) out.append(buffer, n);
  ::pclose(p);
  return out;
}

}  // namespace

class PcscCardTest : public PcscFixture {
 protected:
  // Under ADM: CREATE FILE of a transparent EF under the MF (read ALW / update ADM, tag 86,
  // docs/cards.md) sized for `data_hex`, then SELECT it and write `data_hex` into it.
  void create_adm_ef(cardperso::pcsc::PcscCard& card, const std::string& fid, const std::string& data_hex) {
    const Bytes data = hex(data_hex);
    Bytes size;
    put_u16(size, static_cast<std::uint16_t>(data.size()));
    EXPECT_EQ(run(card, verify_adm_apdu()).sw, 0x9000);
    EXPECT_EQ(run(card, "A0E0000012 6210 820101 8302" + fid + " 8002" + to_hex(size) + " 86030AF0AA").sw, 0x9000);
    EXPECT_EQ(run(card, "A0A4000002 " + fid).sw, 0x9000);
    EXPECT_EQ(run(card, "A0D60000" + to_hex(Bytes{size[1]}) + " " + data_hex).sw, 0x9000);
  }
};

TEST_F(PcscCardTest, ReadsIccidOfBlankSim) {
  ASSERT_NE(start_card(write_image(blank_sim(), "blank")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(card->protocol(), 1u) << "the SIM offers T=0 only";
  EXPECT_EQ(run(*card, "A0A4000002 3F00").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0A4000002 2FE2").sw, 0x9000);
  auto iccid = run(*card, "A0B000000A");
  ASSERT_EQ(iccid.sw, 0x9000);
  ASSERT_EQ(iccid.data.size(), 10u);
  auto decoded = decode_iccid(iccid.data);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, kIccid);
}

TEST_F(PcscCardTest, ThreeWrongPinsBlockChv1AndUnblockRestoresIt) {
  ASSERT_NE(start_card(write_image(retailer_card(), "retailer")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  const std::string wrong = "A020000108 39393939FFFFFFFF";  // "9999"
  EXPECT_EQ(run(*card, wrong).sw, 0x9804);
  EXPECT_EQ(run(*card, wrong).sw, 0x9804);
  EXPECT_EQ(run(*card, wrong).sw, 0x9840);
  EXPECT_EQ(run(*card, "A020000108 31323334FFFFFFFF").sw, 0x9840) << "the right PIN must not open a blocked CHV1";
  // UNBLOCK CHV1 (P2 00): PUK "12345678" || new PIN "5678".
  EXPECT_EQ(run(*card, "A02C000010 3132333435363738 35363738FFFFFFFF").sw, 0x9000);
  EXPECT_EQ(run(*card, "A020000108 35363738FFFFFFFF").sw, 0x9000);
  // CHV1 is verified again: the card computes with its keys, and still never reveals them.
  EXPECT_EQ(run(*card, "A0A4000002 7F50").sw, 0x9000);
  EXPECT_EQ(run(*card, "A08A000010 00112233445566778899aabbccddeeff").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0A4000002 6F01").sw, 0x9000);
  auto keys = run(*card, "A0B0000041");
  EXPECT_EQ(keys.sw, 0x9804);
  EXPECT_TRUE(keys.data.empty());
}

// The insider's attack: the retailer card and its PIN in any PC/SC reader. Every READ BINARY and READ
// RECORD of every EF the card holds, before and after VERIFY CHV1, returns no byte run of any key.
TEST_F(PcscCardTest, RetailerCardRevealsNoKeyWithOrWithoutThePin) {
  const CardImage image = retailer_card();
  ASSERT_NE(start_card(write_image(image, "retailer")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  std::vector<Bytes> keys;
  for (const auto& f : image.files)
    if (f.path == "3F00/7F50/6F01")
      for (std::size_t at = 1; at + 16 <= f.data.size(); at += 16) keys.emplace_back(f.data.begin() + at, f.data.begin() + at + 16);
  ASSERT_EQ(keys.size(), 4u);
  // Any 6 consecutive bytes of a key in an answer count as a leak.
  auto leaks = [&](const Bytes& data) {
    for (const auto& k : keys)
      for (std::size_t from = 0; from + 6 <= k.size(); ++from)
        if (std::search(data.begin(), data.end(), k.begin() + from, k.begin() + from + 6) != data.end()) return true;
    return false;
  };
  int efs = 0, reads = 0;
  for (bool with_pin : {false, true}) {
    if (with_pin) {
      ASSERT_EQ(run(*card, "A020000108 31323334FFFFFFFF").sw, 0x9000);
    }
    for (const auto& f : image.files) {
      if (f.type != FileType::Ef) continue;
      ++efs;
      std::string path = f.path.substr(5);  // SELECT by path from the MF (P1 08) leaves out 3F00
      path.erase(std::remove(path.begin(), path.end(), '/'), path.end());
      auto selected = run(*card, "A0A40800" + to_hex(Bytes{static_cast<std::uint8_t>(path.size() / 2)}) + path);
      ASSERT_EQ(selected.sw, 0x9000) << f.path;
      EXPECT_FALSE(leaks(selected.data)) << f.path << " SELECT response";
      const std::size_t size = f.data.size();
      std::vector<std::string> commands;
      for (std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{17}, size > 0 ? size - 1 : 0})
        for (std::size_t len : {std::size_t{1}, std::size_t{16}, size - std::min(size, offset), std::size_t{0}}) {
          if (offset > 0xFFFF || len > 0xFF) continue;
          const Bytes p{static_cast<std::uint8_t>(offset >> 8), static_cast<std::uint8_t>(offset), static_cast<std::uint8_t>(len)};
          commands.push_back("A0B0" + to_hex(p));
        }
      for (const char* mode : {"02", "03", "04"})
        for (const char* len : {"10", "41", "00"}) commands.push_back(std::string("A0B201") + mode + len);
      for (const auto& c : commands) {
        auto r = run(*card, c);
        ++reads;
        EXPECT_FALSE(leaks(r.data)) << f.path << " " << c << (with_pin ? " with the PIN" : " without the PIN");
        if (f.path == "3F00/7F50/6F01") {
          EXPECT_NE(r.sw, 0x9000) << c;
          EXPECT_TRUE(r.data.empty()) << c;
        }
      }
    }
  }
  EXPECT_EQ(efs, 2 * 6);  // EF_ICCID, PIN, PUK, issuer code, key file, key version; twice
  EXPECT_GT(reads, 200);
}

// The compute commands answer only after VERIFY CHV1, and then with the keys the card holds
// (RETAILER CRYPTOGRAM checked against FIPS-197 appendix C.1); a reset takes the right away again.
TEST_F(PcscCardTest, RetailerComputeCommandsWorkOnlyAfterThePin) {
  const CardImage image = retailer_card();
  CardSimProcess* sim = start_card(write_image(image, "retailer"));
  ASSERT_NE(sim, nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  const std::string nonces = "00112233445566778899aabbccddeeff" "000102030405060708090a0b0c0d0e0f";
  auto refused_without_pin = [&]() {
    EXPECT_EQ(run(*card, "A0A4000002 7F50").sw, 0x9000);
    EXPECT_EQ(run(*card, "A08A000010 00112233445566778899aabbccddeeff").sw, 0x9804);
    EXPECT_EQ(run(*card, "A08C000020" + nonces).sw, 0x9804);
    EXPECT_EQ(run(*card, "A08E000120" + nonces).sw, 0x9804);
    EXPECT_EQ(run(*card, "A08E000220" + nonces).sw, 0x9804);
  };
  refused_without_pin();
  EXPECT_EQ(run(*card, "A020000108 39393939FFFFFFFF").sw, 0x9804);  // a wrong PIN opens nothing
  refused_without_pin();
  EXPECT_EQ(run(*card, "A020000108 31323334FFFFFFFF").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0A4000002 3F00").sw, 0x9000);
  EXPECT_EQ(run(*card, "A08A000010 00112233445566778899aabbccddeeff").sw, 0x9400) << "outside DF 7F50";
  EXPECT_EQ(run(*card, "A0A4000002 7F50").sw, 0x9000);
  auto c = run(*card, "A08A000010 00112233445566778899aabbccddeeff");
  EXPECT_EQ(c.sw, 0x9000);
  EXPECT_EQ(to_hex(c.data), "69c4e0d86a7b0430d8cdb78070b4c55a");
  EXPECT_EQ(run(*card, "A08E000320" + nonces).sw, 0x6B00) << "no third session key";
  EXPECT_EQ(run(*card, "A08A00000F 00112233445566778899aabbccddee").sw >> 8, 0x67);
  for (const auto& f : image.files)
    if (f.path == "3F00/7F50/6F01") expect_card_computes_with(*card, f.data);

  // Out and in again: power-on clears the security state.
  card.reset();
  power_cycle(sim);
  card = connect();
  ASSERT_TRUE(card);
  refused_without_pin();
}

TEST_F(PcscCardTest, UpdateWithoutAdmIsRefused) {
  ASSERT_NE(start_card(write_image(blank_sim_with_adm_file(), "blank")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(run(*card, "A0A4000002 6F10").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0D6000008 0102030405060708").sw, 0x9804);
  auto body = run(*card, "A0B0000008");
  EXPECT_EQ(body.sw, 0x9000);
  EXPECT_EQ(body.data, Bytes(8, 0xFF)) << "a refused update must not change the file";
}

TEST_F(PcscCardTest, AdmCodeOpensTheUpdate) {
  ASSERT_NE(start_card(write_image(blank_sim_with_adm_file(), "blank")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(run(*card, "A020000A08 0000000000000000").sw, 0x9804) << "a wrong ADM code is refused";
  EXPECT_EQ(run(*card, verify_adm_apdu()).sw, 0x9000);
  EXPECT_EQ(run(*card, "A0A4000002 6F10").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0D6000008 0102030405060708").sw, 0x9000);
  auto body = run(*card, "A0B0000008");
  EXPECT_EQ(body.sw, 0x9000);
  EXPECT_EQ(body.data, hex("0102030405060708"));
}

TEST_F(PcscCardTest, CreatedFileSurvivesRemovalAndReinsertion) {
  const std::string image = write_image(blank_sim(), "blank");
  CardSimProcess* sim = start_card(image);
  ASSERT_NE(sim, nullptr);
  {
    auto card = connect();
    ASSERT_TRUE(card);
    create_adm_ef(*card, "6F42", "CAFEBABE00112233");
  }
  sim->send_command("remove");
  ASSERT_TRUE(sim->wait_for_event("removed", 5s));
  auto absent = pcsc().wait_for_card_absent(kReader0, 5s);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_TRUE(*absent);

  auto on_disk = load_image(image);
  ASSERT_TRUE(on_disk.ok()) << on_disk.error().message;
  bool found = false;
  for (const auto& f : on_disk->files) found = found || (f.path == "3F00/6F42" && f.data == hex("CAFEBABE00112233"));
  EXPECT_TRUE(found) << "the image file must hold the new EF after removal";

  sim->send_command("insert");
  ASSERT_TRUE(sim->wait_for_event("inserted", 5s));
  auto present = pcsc().wait_for_card_present(kReader0, 5s);
  ASSERT_TRUE(present.ok()) << present.error().message;
  ASSERT_TRUE(*present);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(run(*card, "A0A4000002 6F42").sw, 0x9000);
  auto body = run(*card, "A0B0000008");
  EXPECT_EQ(body.sw, 0x9000);
  EXPECT_EQ(body.data, hex("CAFEBABE00112233"));
  // Security state does not survive a power cycle: the update needs ADM again.
  EXPECT_EQ(run(*card, "A0D6000008 0000000000000000").sw, 0x9804);
}

TEST_F(PcscCardTest, ImagePersistsAcrossACardSimRestart) {
  const std::string image = write_image(blank_sim(), "blank");
  {
    CardSimProcess* sim = start_card(image);
    ASSERT_NE(sim, nullptr);
    auto card = connect();
    ASSERT_TRUE(card);
    create_adm_ef(*card, "6F43", "01020304");
    sim->kill_hard();  // no chance to save on exit: the image must already be on disk
  }
  sims_.clear();
  ASSERT_TRUE(*pcsc().wait_for_card_absent(kReader0, 5s));
  ASSERT_NE(start_card(image), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  EXPECT_EQ(run(*card, "A0A4000002 6F43").sw, 0x9000);
  EXPECT_EQ(run(*card, "A0B0000004").data, hex("01020304"));
}

TEST_F(PcscCardTest, RemovalMidExchangeFailsFastWithCardRemoved) {
  CardSimProcess* sim = start_card(write_image(blank_sim(), "blank"), 0, {"--apdu-delay-ms", "3000"});
  ASSERT_NE(sim, nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  cardperso::pcsc::PcscCard* handle = &*card;
  auto pending =
      std::async(std::launch::async, [handle] { return error_text(handle->transmit(hex("A0A40000023F00"))); });
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(pending.wait_for(0ms), std::future_status::timeout) << "the card answered despite --apdu-delay-ms";
  const auto removed_at = std::chrono::steady_clock::now();
  sim->send_command("remove");
  ASSERT_EQ(pending.wait_for(5s), std::future_status::ready) << "transmit hangs after the card was removed";
  const std::string error = pending.get();
  const auto elapsed = std::chrono::steady_clock::now() - removed_at;
  ASSERT_FALSE(error.empty()) << "transmit succeeded on a removed card";
  EXPECT_NE(error.find("card removed"), std::string::npos) << error;
  EXPECT_LT(elapsed, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
  // And later commands on the old handle say the same, immediately.
  auto again = card->transmit(hex("A0A40000023F00"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("card removed"), std::string::npos) << again.error().message;
}

TEST_F(PcscCardTest, PcscScanShowsTheAtr) {
  ASSERT_NE(start_card(write_image(blank_sim(), "blank")), nullptr);
  auto card = connect();
  ASSERT_TRUE(card);
  auto atr = card->atr();
  ASSERT_TRUE(atr.ok()) << atr.error().message;
  EXPECT_EQ(*atr, hex("3B981100 4350 5349 4D30 3031")) << "T=0 ATR with historical bytes CPSIM001";
  card.reset();
  const std::string out = run_shell("pcsc_scan -t 2 2>&1");
  EXPECT_NE(out.find("3B 98 11 00 43 50 53 49 4D 30 30 31"), std::string::npos) << out;
  EXPECT_NE(out.find(kReader0), std::string::npos) << out;
}

TEST_F(PcscCardTest, WaitForCardPresentAndAbsentHonourTimeouts) {
  auto t0 = std::chrono::steady_clock::now();
  auto present = pcsc().wait_for_card_present(kReader0, 300ms);
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_FALSE(*present) << "no card was inserted";
  EXPECT_GE(waited, 280ms);
  EXPECT_LT(waited, 1500ms);

  auto absent = pcsc().wait_for_card_absent(kReader0, 100ms);
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(*absent);

  // Insert while waiting: the wait returns soon after pcscd sees the card.
  const std::string image = write_image(blank_sim(), "blank");
  sims_.push_back(std::make_unique<CardSimProcess>(CARDPERSO_CARD_SIM_PATH, image, 35964));
  t0 = std::chrono::steady_clock::now();
  present = pcsc().wait_for_card_present(kReader1, 5s);
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_TRUE(*present);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

  absent = pcsc().wait_for_card_absent(kReader1, 300ms);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(*absent) << "the card is still in";

  sims_.back()->send_command("remove");
  absent = pcsc().wait_for_card_absent(kReader1, 5s);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_TRUE(*absent);
  // The other reader never had a card.
  present = pcsc().wait_for_card_present(kReader0, 0ms);
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
}

TEST_F(PcscCardTest, CancelWaitStopsAWaitFromAnotherThread) {
  cardperso::pcsc::PcscReader* r = &pcsc();
  auto waiting = std::async(std::launch::async, [r] { return error_text(r->wait_for_card_present(kReader0, 20s)); });
  std::this_thread::sleep_for(300ms);
  r->cancel_wait();
  ASSERT_EQ(waiting.wait_for(3s), std::future_status::ready);
  const std::string error = waiting.get();
  EXPECT_NE(error.find("cancelled"), std::string::npos) << "'" << error << "'";
}

TEST_F(PcscCardTest, NoCardInReaderIsAClearError) {
  auto card = pcsc().connect(kReader0);
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.error().message, "no card in reader 'Virtual PCD 00 00'; insert a card");
}

TEST_F(PcscCardTest, ReadersAreListedAndAnUnknownNameSaysWhatExists) {
  auto names = pcsc().list_readers();
  ASSERT_TRUE(names.ok()) << names.error().message;
  EXPECT_EQ(*names, (std::vector<std::string>{kReader0, kReader1}));
  auto first = pcsc().pick_reader("");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, kReader0);
  auto missing = pcsc().pick_reader("Gemalto PC Twin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "reader 'Gemalto PC Twin' not found (available: 'Virtual PCD 00 00', 'Virtual PCD 00 01')");
  auto bad_wait = pcsc().wait_for_card_present("Gemalto PC Twin", 100ms);
  ASSERT_FALSE(bad_wait.ok());
  EXPECT_NE(bad_wait.error().message.find("not found"), std::string::npos);
}

TEST_F(PcscCardTest, CardSimReportsWhenVpcdIsNotListening) {
  const std::string image = write_image(blank_sim(), "blank");
  // Port 1 in the private network namespace: nothing listens there.
  CardSimProcess sim(CARDPERSO_CARD_SIM_PATH, image, 1, {"--connect-timeout", "0.3"});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(sim.wait_for_event("connect-failed", 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(PcscCardTest, CardSimSavesAndExitsOnSigterm) {
  CardSimProcess* sim = start_card(write_image(blank_sim(), "blank"));
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(sim->terminate(), 0);
  auto absent = pcsc().wait_for_card_absent(kReader0, 5s);
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(*absent);
}

// Run by ctest through `pcsc-sandbox --no-readers`: pcscd runs, but without the vpcd driver.
TEST(PcscNoReader, PickReaderSaysNoReaderFound) {
  auto pcsc = cardperso::pcsc::PcscReader::open();
  ASSERT_TRUE(pcsc.ok()) << pcsc.error().message;
  auto names = pcsc->list_readers();
  ASSERT_TRUE(names.ok()) << names.error().message;
  EXPECT_TRUE(names->empty());
  auto picked = pcsc->pick_reader("");
  ASSERT_FALSE(picked.ok());
  EXPECT_NE(picked.error().message.find("no reader found"), std::string::npos) << picked.error().message;
}

// Points the PC/SC client at a socket nobody serves (the client honours PCSCLITE_CSOCK_NAME).
TEST(PcscNoService, OpenSaysPcscdIsNotRunning) {
  ::setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm", 1);
  auto pcsc = cardperso::pcsc::PcscReader::open();
  ASSERT_FALSE(pcsc.ok());
  EXPECT_NE(pcsc.error().message.find("no PC/SC service (is pcscd running?)"), std::string::npos)
      << pcsc.error().message;
}
