// Writes the seed corpus of every fuzz target: fuzz_make_corpus <corpus-dir>. Run by hand after a
// format change (see docs/fuzzing.md); the output is committed under fuzz/corpus/. Each seed is a
// small valid input in the target's own input layout, so the fuzzer starts past the first checks.
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "card_fixture.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/perso/card_profile.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "perso_fixture.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "secure_channel_fixture.hpp"

using namespace cardperso;
using namespace cardperso::proto;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void write(const std::string& target, const std::string& name, ByteView bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes frame_bytes(const Frame& f) { return encode_frame(f.header, f.payload); }

Bytes with(Bytes head, ByteView tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

LinkHello link_hello() {
  LinkHello h;
  h.node_id = "dtd-shop-01";
  return h;
}

HandshakeH1 h1() {
  HandshakeH1 m;
  m.key_version = 1;
  m.serial = "0000000042";
  m.rn2.fill(0x22);
  m.rn4.fill(0x44);
  m.rn6.fill(0x66);
  return m;
}

std::vector<Frame> sealed_frames(int n) {
  SecureChannel sender(fuzz_fixture::key(), fuzz_fixture::transcript(), Direction::SteToAds, Direction::AdsToSte);
  std::vector<Frame> frames;
  for (int i = 0; i < n; ++i) {
    FrameHeader h;
    h.channel = Channel::SteAds;
    h.type = static_cast<std::uint8_t>(i == n - 1 ? MessageType::Terminate : MessageType::Echo);
    h.session = 0x01020304;
    const Bytes plain = i == n - 1 ? TerminateBody{}.encode() : Bytes{'p', 'i', 'n', 'g', static_cast<std::uint8_t>(i)};
    frames.push_back(*sender.seal(h, plain));
  }
  return frames;
}

void frame_corpus() {
  const Bytes split = hex("5a3c9e11");  // the trailing split seed
  write("frame_fuzz", "link_hello", with(frame_bytes(make_frame(Channel::LinkControl, 0, link_hello())), split));
  write("frame_fuzz", "two_frames",
        with(with(frame_bytes(make_frame(Channel::LinkControl, 0, Keepalive{})),
                  frame_bytes(make_frame(Channel::SteAds, 0, h1()))),
             split));
  write("frame_fuzz", "sealed", with(frame_bytes(sealed_frames(1)[0]), split));
  write("frame_fuzz", "bad_magic", with(hex("58500100010000000000000000000000"), split));
}

void messages_corpus() {
  LinkHelloAck ack;
  SteHello ste;
  ste.node_id = "ste-0001";
  SessionKeyHandover l1;
  l1.session = 7;
  l1.sealed_sk_d.fill(0x5d);
  HandshakeH2 h2;
  h2.session = 0x01020304;
  h2.rn1.fill(0x11);
  HandshakeH3 h3;
  h3.confirm_s.fill(0x33);
  HandshakeH4 h4;
  h4.confirm_d.fill(0x44);
  TerminateBody term{ErrorCode::Timeout};
  const std::vector<std::pair<std::string, Bytes>> seeds = {
      {"link_hello", with({0}, link_hello().encode())},
      {"ack", with({1}, ack.encode())},
      {"keepalive", {2}},
      {"ste_hello", with({3}, ste.encode())},
      {"handover", with({4}, l1.encode())},
      {"h1", with({5}, h1().encode())},
      {"h2", with({6}, h2.encode())},
      {"h3", with({7}, h3.encode())},
      {"h4", with({8}, h4.encode())},
      {"error", with({9}, ErrorMessage::make(ErrorCode::Busy, "retry later").encode())},
      {"terminate", with({10}, term.encode())},
      {"make_error", with({11}, view(std::string("\x00\x03 bad\ttext", 11)))},
  };
  for (const auto& [name, bytes] : seeds) write("messages_fuzz", name, bytes);
}

void secure_channel_corpus() {
  for (int n : {1, 2, 3}) {
    Bytes stream{0x00};
    for (const Frame& f : sealed_frames(n)) stream = with(stream, frame_bytes(f));
    write("secure_channel_fuzz", "sealed_" + std::to_string(n), stream);
  }
  // A tampered copy (last tag byte flipped) and the field-by-field mode.
  Bytes bad = with({0x00}, frame_bytes(sealed_frames(1)[0]));
  bad.back() ^= 0x01;
  write("secure_channel_fuzz", "tampered", bad);
  write("secure_channel_fuzz", "fields", with({0x01}, hex("0101240100000001020304000000200102030405060708")));
}

// An FCP template (tag 62) around the given TLVs.
Bytes fcp(const std::string& tlvs) {
  const Bytes body = hex(tlvs);
  Bytes out{0x62};
  if (body.size() > 0x7F) out.push_back(0x81);
  out.push_back(static_cast<std::uint8_t>(body.size()));
  return with(out, body);
}

// A case 1/2 APDU from hex, or a case 3/4 one: header (4 bytes) + Lc + data.
std::string cmd(const std::string& header, const Bytes& data) {
  Bytes b = hex(header);
  b.push_back(static_cast<std::uint8_t>(data.size()));
  return to_hex(with(b, data));
}
std::string create(const std::string& tlvs) { return cmd("A0E00000", fcp(tlvs)); }

// [card][length][APDU]... for apdu_fuzz.
Bytes apdus(std::uint8_t card, const std::vector<std::string>& list) {
  Bytes out{card};
  for (const auto& a : list) {
    const Bytes b = hex(a);
    out.push_back(static_cast<std::uint8_t>(b.size()));
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

const std::string kPinCode = "31323334FFFFFFFF";

void apdu_corpus() {
  // Blank SIM (ADM1 already verified by the harness).
  write("apdu_fuzz", "blank_read_iccid",
        apdus(0, {"A0A40000023F00", "A0C0000016", "A0A40000022FE2", "A0B000000A", "A0F2000016"}));
  write("apdu_fuzz", "blank_personalise",
        apdus(0, {create("82013883027F20"),
                  create("8202412183026F078002000986030AFAAA"),  // transparent, 9 bytes, read ALW, update ADM
                  cmd("A0D60000", hex("082943010203040506")), "A0B0000009",
                  create("82054221001C0283026F3A86030AFAAA"),  // linear fixed, 2 records of 28
                  cmd("A0DC0104", Bytes(28, 0xAB)), "A0B201041C", "A0A40000026F3A", "A0C000000F"}));
  write("apdu_fuzz", "blank_gsm_algorithm",
        apdus(0, {create("8202412183020000800108860300FFAA"),  // CHV1 code file in the MF
                  cmd("A0D60000", hex(kPinCode)), create("82013883027F20"),
                  create("820241218302FF02800110860300FFAA"), cmd("A0D60000", hex("000102030405060708090A0B0C0D0E0F")),
                  "A0A40000027F20", create("820241218302FF01800110860300FFAA"),
                  cmd("A0D60000", hex("F0E0D0C0B0A090807060504030201000")), "A0A40000027F20",
                  cmd("A0200001", hex(kPinCode)), cmd("A0880000", hex("00112233445566778899AABBCCDDEEFF")),
                  "A0C000000C"}));
  write("apdu_fuzz", "blank_power_cycle", with(apdus(0, {"A0A40000023F00"}), hex("FF05A0F2000016")));
  // Retailer card.
  write("apdu_fuzz", "retailer_read_keys",
        apdus(1, {cmd("A0200001", hex(kPinCode)), "A0A40000027F50", "A0A40000026F01", "A0B0000041"}));
  write("apdu_fuzz", "retailer_wrong_pin_unblock",
        apdus(1, {cmd("A0200001", hex("39393939FFFFFFFF")), cmd("A0200001", hex("39393939FFFFFFFF")),
                  cmd("A0200001", hex("39393939FFFFFFFF")), cmd("A0200001", hex(kPinCode)),
                  cmd("A02C0000", hex("3132333435363738" "35353535FFFFFFFF")),
                  cmd("A0240001", hex("35353535FFFFFFFF" + kPinCode))}));
  write("apdu_fuzz", "retailer_disable_chv",
        apdus(1, {cmd("A0260001", hex(kPinCode)), cmd("A0A40800", hex("7F506F01")), "A0B0000041",
                  cmd("A0280001", hex(kPinCode))}));
}

void fcp_corpus() {
  write("fcp_fuzz", "df", fcp("82013883027F20"));
  write("fcp_fuzz", "transparent", fcp("8202412183026F078002000986030AFAAA"));
  write("fcp_fuzz", "linear_fixed", fcp("82054221001C0283026F3A86030AFAAA"));
  write("fcp_fuzz", "cyclic", fcp("82054621000A0583026F1386030AFAAA"));
  write("fcp_fuzz", "code_file_no_access", fcp("820241218302000A800108"));
  write("fcp_fuzz", "uicc_extras", fcp("8202412183026F4680020011A5008A01058B036F06028800"));
  write("fcp_fuzz", "long_form", hex("628114" "8202412183026F0780020009860300AAAA8A0105"));  // 81-form length
}

void card_image_corpus() {
  write("card_image_fuzz", "blank_sim", view(cardsim::image_to_json(fuzz_cards::blank_sim())));
  write("card_image_fuzz", "retailer", view(cardsim::image_to_json(fuzz_cards::retailer_card())));
  write("card_image_fuzz", "records",
        view(std::string(R"({"kind":"sim","atr":"3B981100","generation":3,"files":[)"
                         R"({"path":"3F00","type":"mf"},{"path":"3F00/7F20","type":"df"},)"
                         R"({"path":"3F00/7F20/6F3A","type":"ef","structure":"linear_fixed","record_length":4,)"
                         R"("access":"11AA11","data":"0102030405060708"},)"
                         R"({"path":"3F00/7F20/6F13","type":"ef","structure":"cyclic","record_length":2,)"
                         R"("access":"11AA11","invalidated":true,"data":"AAAABBBB"}],)"
                         R"("tries_left":{"01":2,"0A":3},"chv_disabled":{"01":true}})")));
}

void vpcd_corpus() {
  // The decoder input is the body, then (taken from the end) repeats, bound choice and split seed.
  const Bytes trailer = hex("01" "01" "7a3c9e11");  // repeats byte, ConsumeBool byte, 4-byte seed (read backwards)
  write("vpcd_codec_fuzz", "power_on_atr", with(hex("000101" "000104"), trailer));
  write("vpcd_codec_fuzz", "apdus", with(hex("0007A0A40000023F00" "0005A0C0000016" "000100" "000102"), trailer));
  write("vpcd_codec_fuzz", "unknown_control", with(hex("000103" "0000"), trailer));
}

std::string read_profile(const std::string& name) {
  std::ifstream in(std::string(CARDPERSO_PROFILES_DIR) + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void profile_corpus() {
  const std::string text = read_profile("gsm-sim-default.json");
  if (text.empty()) {
    std::fprintf(stderr, "fuzz_make_corpus: cannot read %s/gsm-sim-default.json\n", CARDPERSO_PROFILES_DIR);
    std::exit(1);
  }
  write("profile_fuzz", "gsm_sim_default", view(text));
  write("profile_fuzz", "minimal",
        view(std::string(R"({"name":"min","version":1,"files":[)"
                         R"({"path":"3F00/0000","type":"ef","structure":"transparent","size":8,)"
                         R"("access":{"read":"NEV","update":"ADM"},"create":true}],)"
                         R"("codes":{"chv1":{"file":"3F00/0000","from":"keypad","entry":"customer_pin"}}})")));
}

// The script the ADS builds for the fuzz blank SIM from the default profile, and a modification.
void script_corpus() {
  auto profile = perso::parse_card_profile(read_profile("gsm-sim-default.json"));
  if (!profile) {
    std::fprintf(stderr, "fuzz_make_corpus: default profile: %s\n", profile.error().message.c_str());
    std::exit(1);
  }
  auto values = fuzz_perso::values();
  auto personalise = perso::build_personalisation_script(*profile, values);
  values.mode = perso::PersoMode::Modify;
  values.opening_code = fuzz_perso::secret_hex("a1a2a3a4a5a6a7a8");
  values.msisdn = "+41790000002";
  values.rand.clear();
  auto modify = perso::build_personalisation_script(*profile, values);
  for (auto* s : {&personalise, &modify}) {
    if (!*s) {
      std::fprintf(stderr, "fuzz_make_corpus: script: %s\n", s->error().message.c_str());
      std::exit(1);
    }
  }
  // The seed must run to its end on the target's blank SIM, or the fuzzer starts at the first step.
  cardsim::SimCard card(fuzz_cards::blank_sim());
  card.power_on();
  const auto run = perso::execute_script(*personalise, fuzz_perso::keypad(),
                                         [&card](ByteView apdu) -> Result<Bytes> { return card.transmit(apdu); });
  if (run.outcome != perso::ScriptOutcome::Completed) {
    std::fprintf(stderr, "fuzz_make_corpus: the seed script does not complete: %s\n", run.reason.c_str());
    std::exit(1);
  }
  write("script_fuzz", "personalise_default", perso::encode_script(*personalise).value().view());
  write("script_fuzz", "modify_msisdn", perso::encode_script(*modify).value().view());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_corpus <corpus-dir>   (writes <corpus-dir>/<target>/<seed>)\n");
    return 2;
  }
  g_root = argv[1];
  frame_corpus();
  messages_corpus();
  secure_channel_corpus();
  apdu_corpus();
  fcp_corpus();
  card_image_corpus();
  vpcd_corpus();
  profile_corpus();
  script_corpus();
  return 0;
}
