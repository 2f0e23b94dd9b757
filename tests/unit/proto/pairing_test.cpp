// The pairing code and L1's sealed SK_D (proto/PROTOCOL.md §6.5).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/pairing.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {

const SecretBytes kKey(hex("00112233445566778899aabbccddeeff"));

FrameHeader l1_header(std::uint32_t session) {
  return FrameHeader{kProtocolVersion, Channel::LinkControl, 0x05, 0, session, 68};
}

TranscriptHash t4_of(std::uint8_t b) {
  TranscriptHash t{};
  t.fill(b);
  return t;
}

}  // namespace

// The code is the key in nine groups of four hex digits, the last a check over the key (computed
// here with OpenSSL's SHA-256 directly, as PROTOCOL.md §6.5 states it).
TEST(PairingCode, IsTheKeyAndItsCheck) {
  const std::string code = pairing_code(kKey);
  const std::string label = "cardperso pairing code";
  Bytes data(label.begin(), label.end());
  data.insert(data.end(), kKey.view().begin(), kKey.view().end());
  const auto digest = crypto::sha256(data);
  std::string check = to_hex(ByteView(digest).first(2));
  for (auto& c : check) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(code, "0011-2233-4455-6677-8899-AABB-CCDD-EEFF-" + check);
  auto back = parse_pairing_code(code);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_hex(back->view()), "00112233445566778899aabbccddeeff");
  // Typed by a person: lower case, spaces instead of dashes, no separators at all.
  std::string typed = code;
  for (auto& c : typed) c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(parse_pairing_code(typed));
  std::string bare;
  for (char c : code)
    if (c != '-') bare += c;
  EXPECT_TRUE(parse_pairing_code(bare));
}

TEST(PairingCode, TyposAreCaughtAndNothingIsEchoed) {
  const std::string code = pairing_code(kKey);
  for (std::size_t at = 0; at < code.size(); ++at) {
    if (code[at] == '-') continue;
    std::string typo = code;
    typo[at] = typo[at] == '0' ? '1' : '0';
    auto r = parse_pairing_code(typo);
    ASSERT_FALSE(r) << "position " << at;
    EXPECT_EQ(r.error().code, Errc::InvalidInput);
    EXPECT_EQ(r.error().message.find("0011"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_pairing_code(code.substr(0, code.size() - 1)).error().message.find("35 hex digits"), std::string::npos);
  EXPECT_NE(parse_pairing_code(code + "0").error().message.find("more than 36"), std::string::npos);
  EXPECT_NE(parse_pairing_code("0011-2233-4455-6677-8899-AABB-CCDD-EEFF-XY12").error().message.find("not a hex digit"),
            std::string::npos);
}

TEST(PairingFile, IsCreatedOnceWithMode0600AndRefusedWhenOthersMayReadIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("cardperso-pairing-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "ste-pairing.key").string();
  ASSERT_TRUE(create_pairing_file(path, kKey).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = create_pairing_file(path, SecretBytes(Bytes(16, 1)));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::AlreadyExists);
  auto loaded = load_pairing_file(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(to_hex(loaded->view()), to_hex(kKey.view()));  // the first key, not overwritten
  ::chmod(path.c_str(), 0644);
  auto exposed = load_pairing_file(path);
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().message.find("chmod 600"), std::string::npos) << exposed.error().message;
  EXPECT_EQ(load_pairing_file((dir / "absent.key").string()).error().code, Errc::NotFound);
  std::filesystem::remove_all(dir);
}

// SK_D sealed for one handshake opens under the same pairing key, T4 and header only.
TEST(SealedSkD, OpensOnlyUnderItsPairingKeyTranscriptAndHeader) {
  const SecretBytes sk_d(hex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"));
  const Bytes sealed = seal_sk_d(kKey, l1_header(7), t4_of(0x44), sk_d);
  ASSERT_EQ(sealed.size(), kSealedSkDSize);
  EXPECT_EQ(std::search(sealed.begin(), sealed.end(), sk_d.view().begin(), sk_d.view().begin() + 4), sealed.end());
  auto opened = open_sk_d(kKey, l1_header(7), t4_of(0x44), sealed);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(to_hex(opened->view()), to_hex(sk_d.view()));
  EXPECT_FALSE(open_sk_d(SecretBytes(Bytes(16, 0)), l1_header(7), t4_of(0x44), sealed));
  EXPECT_FALSE(open_sk_d(kKey, l1_header(8), t4_of(0x44), sealed));
  EXPECT_FALSE(open_sk_d(kKey, l1_header(7), t4_of(0x45), sealed));
  EXPECT_FALSE(open_sk_d(kKey, l1_header(7), t4_of(0x44), ByteView(sealed).first(31)));
  // A new T4 is a new key: the same SK_D seals differently in every session.
  EXPECT_NE(to_hex(seal_sk_d(kKey, l1_header(7), t4_of(0x45), sk_d)), to_hex(sealed));
}
