// Card profile parsing: the shipped default profile, and refusals that name the JSON path.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "cardperso/perso/card_profile.hpp"

using namespace cardperso;
using namespace cardperso::perso;
using nlohmann::json;

namespace {

const std::string kDefault = std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json";

json default_json() {
  auto p = load_card_profile(kDefault);
  EXPECT_TRUE(p) << p.error().message;
  std::ifstream in(kDefault);
  return json::parse(in);
}

// Applies `edit` to the default profile and returns the parser's error (empty if it was accepted).
std::string error_after(const std::function<void(json&)>& edit) {
  json j = default_json();
  edit(j);
  auto p = parse_card_profile(j.dump());
  return p ? std::string() : p.error().message;
}

json& file(json& j, const std::string& path) {
  for (auto& f : j["files"])
    if (f["path"] == path) return f;
  throw std::logic_error("no such file in the test profile: " + path);
}

}  // namespace

TEST(CardProfile, DefaultProfileLoads) {
  auto p = load_card_profile(kDefault);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "gsm-sim-default");
  EXPECT_EQ(p->files.size(), 23u);
  const ProfileFile* imsi = p->find("3F00/7F20/6F07");
  ASSERT_NE(imsi, nullptr);
  EXPECT_EQ(imsi->size, 9u);
  EXPECT_EQ(to_hex(access_bytes(imsi->access)), "1aa0aa");
  EXPECT_EQ(imsi->value->from, ValueSource::Imsi);
  const ProfileFile* ki = p->find("3F00/7F20/FF02");
  EXPECT_TRUE(ki->is_secret);
  EXPECT_EQ(to_hex(access_bytes(ki->access)), "faf0ff");
  const ProfileFile* msisdn = p->find("3F00/7F10/6F40");
  EXPECT_EQ(msisdn->structure, Structure::LinearFixed);
  EXPECT_EQ(msisdn->size, 68u);
  EXPECT_TRUE(p->find("3F00/0000")->is_secret);
  EXPECT_TRUE(p->chv1->confirm);
  EXPECT_EQ(p->unblock1->entry, KeypadEntry::CustomerPuk);
  EXPECT_EQ(p->chv2->from, CodeSource::Random);
  EXPECT_EQ(p->adm.verify_p2, 0x0A);
  EXPECT_FALSE(p->find("3F00/2FE2")->create);
}

TEST(CardProfile, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_after([](json& j) { j.erase("name"); }), "card profile: $.name: missing");
  EXPECT_EQ(error_after([](json& j) { j["colour"] = "red"; }), "card profile: $.colour: unknown field");
  EXPECT_EQ(error_after([](json& j) { j["files"][13]["access"]["read"] = "PIN"; }),
            "card profile: $.files[13].access.read: must be one of ALW, CHV1, CHV2, ADM, NEV");
  EXPECT_EQ(error_after([](json& j) { j["files"][13]["size"] = 5000; }),
            "card profile: $.files[13].size: 5000 out of 1..4096");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F10/6F3C")["record_length"] = 256; }),
            "card profile: $.files[9].record_length: 256 out of 1..255");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F07")["size"] = 8; }),
            "card profile: $.files[12].value: imsi needs a file of 9..9 bytes, the file has 8");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F07")["structure"] = "tree"; }),
            "card profile: $.files[12].structure: must be transparent, linear_fixed or cyclic");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F07")["value"]["from"] = "imei"; }),
            "card profile: $.files[12].value.from: must be one of imsi, iccid, msisdn, spn, plmnsel, sst, acc, ad, "
            "ki, opc, hex");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F07")["path"] = "3F00/7F30/6F07"; }),
            "card profile: $.files[12].path: parent 3F00/7F30 is not a DF listed before");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F07")["path"] = "3F00/7F20/6F7"; }),
            "card profile: $.files[12].path: \"3F00/7F20/6F7\" is not FIDs of 4 hex digits separated by '/'");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6F38")["value"]["services"] = {1, 99}; }),
            "card profile: $.files[15].value.services: SST service 99 out of 1..20");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/FF02")["access"]["read"] = "ADM"; }),
            "card profile: $.files[21].value: a key file must have read NEV");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/0000")["access"]["read"] = "CHV1"; }),
            "card profile: $.codes.chv1.file: 3F00/0000 holds a code and must have read NEV");
  EXPECT_EQ(error_after([](json& j) { j["codes"]["chv1"]["file"] = "3F00/0009"; }),
            "card profile: $.codes.chv1.file: 3F00/0009 is not listed in files");
  EXPECT_EQ(error_after([](json& j) { j["codes"]["unblock1"]["entry"] = "customer_pin"; }),
            "card profile: $.codes.unblock1.entry: an unblock code comes from customer_puk");
  EXPECT_EQ(error_after([](json& j) { j["codes"].erase("chv1"); }),
            "card profile: $.codes.chv1: required, from the keypad (the customer PIN; RUN GSM ALGORITHM needs it)");
  EXPECT_EQ(error_after([](json& j) { j["adm"]["from"] = "master_code"; }),
            "card profile: $.adm.from: must be issuer_code");
  EXPECT_EQ(error_after([](json& j) { file(j, "3F00/7F20/6FAE")["value"]["hex"] = "0303"; }),
            "card profile: $.files[20].value.hex: 2 bytes do not fit in 1");
  EXPECT_EQ(error_after([](json& j) { j["files"].push_back(j["files"][13]); }),
            "card profile: $.files[23].path: 3F00/7F20/6F20 is listed twice");
  EXPECT_EQ(error_after([](json& j) {
              json big = json::array();
              for (int i = 0; i < 201; ++i) big.push_back(j["files"][6]);
              j["files"] = big;
            }),
            "card profile: $.files: must list 1..200 files");
  EXPECT_EQ(parse_card_profile("{").error().message, "card profile: $: not valid JSON");
  EXPECT_FALSE(load_card_profile("/nonexistent/profile.json"));
}
