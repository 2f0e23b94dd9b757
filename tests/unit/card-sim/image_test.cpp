// Card image JSON round trip, validation messages, save/load with mode 0600 and atomic replace.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cardperso/cardsim/card_builders.hpp"
#include "test_card.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;
using namespace cardperso::cardsim::test;
namespace fs = std::filesystem;

namespace {

void expect_same(const CardImage& a, const CardImage& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.atr, b.atr);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.tries_left, b.tries_left);
  EXPECT_EQ(a.chv_disabled, b.chv_disabled);
  ASSERT_EQ(a.files.size(), b.files.size());
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    const auto& x = a.files[i];
    const auto& y = b.files[i];
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.structure, y.structure) << x.path;
    EXPECT_EQ(x.record_length, y.record_length) << x.path;
    EXPECT_EQ(x.invalidated, y.invalidated) << x.path;
    EXPECT_EQ(x.data, y.data) << x.path;
    EXPECT_EQ(x.access.read, y.access.read) << x.path;
    EXPECT_EQ(x.access.update, y.access.update) << x.path;
    EXPECT_EQ(x.access.increase, y.access.increase) << x.path;
    EXPECT_EQ(x.access.rehabilitate, y.access.rehabilitate) << x.path;
    EXPECT_EQ(x.access.invalidate, y.access.invalidate) << x.path;
  }
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/cardsim-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string error_of(const std::string& json) {
  auto r = image_from_json(json);
  return r ? std::string("(accepted)") : r.error().message;
}

}  // namespace

TEST(CardImageJson, RoundTripAfterUse) {
  SimCard c(test_image());
  EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9804);
  EXPECT_EQ(sw(c, "A0260001 08" + std::string(kPin1)), 0x9000);
  EXPECT_EQ(sw(c, "A0A4080004 7F206F7E"), 0x9F0F);
  EXPECT_EQ(sw(c, "A004000000"), 0x9000);
  const CardImage& img = c.image();
  EXPECT_EQ(img.generation, 3u);

  const std::string text = image_to_json(img);
  EXPECT_NE(text.find("\"path\": \"3F00/7F20/6F39\""), std::string::npos);
  EXPECT_NE(text.find("\"structure\": \"cyclic\""), std::string::npos);
  auto back = image_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  expect_same(img, *back);
  EXPECT_EQ(image_to_json(*back), text);
}

TEST(CardImageJson, ClearErrorsWithTheirPath) {
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"files":[]})").find("atr"), std::string::npos);
  EXPECT_NE(error_of(R"({"atr":"3b","files":[]})").find("atr"), std::string::npos);
  const std::string head = R"({"atr":"3b9811004350","files":[{"path":"3F00","type":"mf"},)";
  EXPECT_NE(error_of(head + R"({"path":"3F00/2FE2","type":"ef","structure":"transparent","access":"0ff0aa","data":"zz"}]})")
                .find("files[1].data"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"path":"3F00/2FE2","type":"ef","structure":"round","access":"0ff0aa","data":"00"}]})")
                .find("files[1].structure"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"path":"3F00/7F20/6F07","type":"ef","structure":"transparent","access":"0ff0aa","data":"00"}]})")
                .find("files[1].path"),
            std::string::npos);  // parent missing
  EXPECT_NE(error_of(head + R"({"path":"3F00/2fe2","type":"ef","structure":"transparent","access":"0ff0aa","data":"00"}]})")
                .find("files[1].path"),
            std::string::npos);  // lower case
  EXPECT_NE(error_of(head + R"({"path":"3F00/2FE2","type":"ef","structure":"transparent","access":"0ff0","data":"00"}]})")
                .find("files[1].access"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"path":"3F00/6F40","type":"ef","structure":"linear_fixed","record_length":3,"access":"0ff0aa","data":"0000"}]})")
                .find("files[1].data"),
            std::string::npos);  // not whole records
  EXPECT_NE(error_of(head + R"({"path":"3F00/2FE2","type":"ef","structure":"transparent","access":"0ff0aa","data":"00"},)"
                            R"({"path":"3F00/2FE2","type":"ef","structure":"transparent","access":"0ff0aa","data":"00"}]})")
                .find("duplicate"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"path":"3F00/7F20","type":"df"}],"tries_left":{"01":4}})").find("tries_left.01"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"path":"3F00/7F20","type":"df"}],"tries_left":{"05":1}})").find("tries_left.05"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"atr":"3b9811004350","files":[{"path":"3F00/7F20","type":"df"}]})").find("files[0]"),
            std::string::npos);
  EXPECT_EQ(error_of(head + R"({"path":"3F00/7F20","type":"df"}],"tries_left":{"01":2}})"), "(accepted)");
}

TEST(CardImageFile, SaveLoadMode0600) {
  TempDir dir;
  const std::string path = (dir.path / "card.json").string();
  SimCard c(test_image());
  ASSERT_TRUE(save_image(path, c.image()));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = load_image(path);
  ASSERT_TRUE(back) << back.error().message;
  expect_same(c.image(), *back);

  // Replacing keeps mode 0600 and leaves no temporary file behind.
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(save_image(path, *back));
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}), 1);
}

TEST(CardImageFile, LoadErrors) {
  TempDir dir;
  auto missing = load_image((dir.path / "nope.json").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.json"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);

  const std::string bad = (dir.path / "bad.json").string();
  std::ofstream(bad) << "{\"atr\": ";
  auto broken = load_image(bad);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("bad.json"), std::string::npos);
  EXPECT_NE(broken.error().message.find("not valid JSON"), std::string::npos);

  auto not_file = load_image(dir.path.string());
  EXPECT_FALSE(not_file);
  EXPECT_FALSE(save_image((dir.path / "no-such-dir" / "x.json").string(), test_image()));
}

TEST(CardImageFile, ACardSurvivesRemovalAndReinsertion) {
  TempDir dir;
  const std::string path = (dir.path / "card.json").string();
  {
    SimCard c(test_image());
    EXPECT_EQ(sw(c, verify("01", kWrong)), 0x9804);
    ASSERT_TRUE(c.state_changed());
    ASSERT_TRUE(save_image(path, c.image()));
  }
  auto img = load_image(path);
  ASSERT_TRUE(img);
  SimCard again(std::move(*img));
  EXPECT_EQ(sw(again, verify("01", kWrong)), 0x9804);
  EXPECT_EQ(sw(again, verify("01", kWrong)), 0x9840);  // the count went on from the saved state
}
