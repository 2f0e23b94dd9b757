#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cardperso/dtd/customer_input.hpp"

using namespace cardperso;
using namespace cardperso::dtd;

namespace {

const char* const kAlice =
    R"({"name": "Alice Example", "date_of_birth": "1990-02-28", "address": "1 Main St, Bern",
        "id_document": "passport", "id_number": "X1234567"})";

std::string error_of(const Result<CustomerRequest>& r) { return r ? std::string("(accepted)") : r.error().message; }

}  // namespace

TEST(CustomerInput, AcceptsCompleteDetails) {
  auto r = parse_customer_details(kAlice, "alice.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, proto::RequestKind::NewCard);
  EXPECT_EQ(r->origin, "alice.json");
  auto j = nlohmann::json::parse(r->json);
  EXPECT_EQ(j["name"], "Alice Example");
  EXPECT_EQ(j["id_number"], "X1234567");
  EXPECT_FALSE(j.contains("email"));
  // The C1 body round-trips through the message codec.
  proto::CustomerDetailsMsg c1{proto::RequestKind::NewCard, r->json};
  auto back = proto::CustomerDetailsMsg::decode(c1.encode());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->json, r->json);
}

TEST(CustomerInput, RefusesBadDetailsWithAReason) {
  EXPECT_NE(error_of(parse_customer_details("{", "f")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(parse_customer_details("[]", "f")).find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(parse_customer_details(R"({"name": "A"})", "f")).find("date_of_birth is required"),
            std::string::npos);
  auto j = nlohmann::json::parse(kAlice);
  j["colour"] = "red";
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("unknown field \"colour\""), std::string::npos);
  j = nlohmann::json::parse(kAlice);
  j["date_of_birth"] = "1990-02-30";
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("not a calendar date"), std::string::npos);
  j["date_of_birth"] = "28.02.1990";
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("YYYY-MM-DD"), std::string::npos);
  j = nlohmann::json::parse(kAlice);
  j["name"] = std::string(101, 'a');
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("longer than 100"), std::string::npos);
  j["name"] = "Eve\nMallory";
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("control characters"), std::string::npos);
  j = nlohmann::json::parse(kAlice);
  j["id_number"] = 12345;
  EXPECT_NE(error_of(parse_customer_details(j.dump(), "f")).find("must be a string"), std::string::npos);
}

TEST(CustomerInput, ModificationRequests) {
  auto r = parse_modification(R"({"iccid": "8988211000000000011", "changes": {"spn": "NEW", "plmnsel": ["228/01"]}})",
                              "mod.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, proto::RequestKind::Modification);
  auto j = nlohmann::json::parse(r->json);
  EXPECT_EQ(j["iccid"], "8988211000000000011");
  EXPECT_EQ(j["changes"]["spn"], "NEW");
  EXPECT_EQ(j["changes"]["plmnsel"][0], "228/01");

  EXPECT_NE(error_of(parse_modification(R"({"iccid": "12", "changes": {"spn": "X"}})", "m")).find("18 to 20 digits"),
            std::string::npos);
  EXPECT_NE(error_of(parse_modification(R"({"iccid": "8988211000000000011", "changes": {}})", "m")).find("at least one"),
            std::string::npos);
  EXPECT_NE(error_of(parse_modification(R"({"iccid": "8988211000000000011", "changes": {"imsi": "1"}})", "m"))
                .find("unknown field \"imsi\""),
            std::string::npos);
  EXPECT_NE(error_of(parse_modification(R"({"iccid": "8988211000000000011", "changes": {"spn": "12345678901234567"}})",
                                        "m"))
                .find("1 to 16"),
            std::string::npos);
}

TEST(CustomerInput, LoadsFilesAndNamesThemInErrors) {
  const auto dir = std::filesystem::temp_directory_path() / ("dtd-customer-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "alice.json").string();
  std::ofstream(good) << kAlice;
  auto r = load_customer_file(good);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->origin, good);
  auto missing = load_customer_file((dir / "nope.json").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.json"), std::string::npos);
  const auto big = (dir / "big.json").string();
  std::ofstream(big) << std::string(70 * 1024, ' ');
  EXPECT_NE(error_of(load_customer_file(big)).find("larger than"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(CustomerInput, InteractivePromptsAskAgainOnABadValue) {
  std::istringstream in("Bob\n1985-13-01\n1985-12-01\nRue 2, Geneva\nid card\nC998877\n\n");
  std::ostringstream out;
  auto r = prompt_customer(in, out);
  ASSERT_TRUE(r) << r.error().message;
  auto j = nlohmann::json::parse(r->json);
  EXPECT_EQ(j["date_of_birth"], "1985-12-01");
  EXPECT_EQ(j["address"], "Rue 2, Geneva");
  EXPECT_FALSE(j.contains("email"));
  EXPECT_NE(out.str().find("not a calendar date"), std::string::npos);
  EXPECT_NE(out.str().find("Name: "), std::string::npos);

  std::istringstream cut("Bob\n");
  std::ostringstream out2;
  auto ended = prompt_customer(cut, out2);
  ASSERT_FALSE(ended);
  EXPECT_NE(ended.error().message.find("ended before date_of_birth"), std::string::npos);
}

TEST(CustomerInput, EveryBadFieldIsReportedByName) {
  const auto errors = check_customer_details(
      R"({"name": "", "date_of_birth": "1990-13-01", "address": "a\u0007b", "id_document": "passport",
          "id_number": 7})");
  EXPECT_EQ(errors.at("name"), "is required");
  EXPECT_EQ(errors.at("date_of_birth"), "is not a calendar date");
  EXPECT_EQ(errors.at("address"), "contains control characters");
  EXPECT_EQ(errors.at("id_number"), "must be a string");
  EXPECT_EQ(errors.count("id_document"), 0u);
  EXPECT_EQ(errors.count("email"), 0u);
  EXPECT_EQ(check_customer_details("[1]").at("_form"), "customer details must be a JSON object");
  const auto mod = check_modification(
      R"({"iccid": "8988211000000000012", "changes": {"plmnsel": ["1/2"], "msisdn": "0123"}})");
  EXPECT_NE(mod.at("iccid").find("check digit"), std::string::npos);
  EXPECT_TRUE(mod.count("plmnsel"));
  EXPECT_TRUE(mod.count("msisdn"));
  EXPECT_TRUE(check_modification(R"({"iccid": "8988211000000000011", "changes": {"plmnsel": ["29510"]}})").empty());
}
