#include "cardperso/ads/policy/assessment_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "test_support.hpp"

namespace cardperso::ads::policy {
namespace {

const Date kToday{2024, 5, 1};

CustomerDetails adult() {
  auto d = parse_customer_details(
      R"({"name":"Ada Lovelace","date_of_birth":"1990-12-10","address":"1 Main St","id_document":"passport",)"
      R"("id_number":"X1234567"})");
  if (!d) throw std::runtime_error(d.error().message);
  return *d;
}

PolicyConfig policy(std::string_view json) {
  auto p = parse_policy(json);
  if (!p) throw std::runtime_error(p.error().message);
  return *p;
}

TEST(CustomerDetailsTest, ParsedStrictly) {
  auto d = adult();
  EXPECT_EQ(d.name, "Ada Lovelace");
  EXPECT_FALSE(d.email.has_value());
  auto err = [](std::string_view json) {
    auto r = parse_customer_details(json);
    return r ? std::string("(no error)") : r.error().message;
  };
  EXPECT_EQ(err("[1]"), "customer details must be a JSON object");
  EXPECT_EQ(err("{"), "customer details are not valid JSON");
  EXPECT_EQ(err(R"({"nickname":"x"})"), "customer details: unknown field \"nickname\"");
  EXPECT_EQ(err(R"({"name":5})"), "customer details: name must be a string");
  EXPECT_EQ(err(R"({"name":")" + std::string(101, 'a') + "\"}"),
            "customer details: name is longer than 100 characters");
  EXPECT_EQ(err(R"({"name":"a\nb"})"), "customer details: name contains control characters");
  EXPECT_EQ(err(R"({"date_of_birth":"2023-02-29"})"), "customer details: date_of_birth: 2023-02-29 is not a calendar date");
  EXPECT_EQ(err(R"({"date_of_birth":"1/2/2000"})"), "customer details: date_of_birth: a date is written YYYY-MM-DD");
  EXPECT_NE(err(std::string(kMaxDetailsJson + 1, ' ')).find("too long"), std::string::npos);
  EXPECT_TRUE(parse_customer_details(R"({"date_of_birth":"2024-02-29","email":"a@b.c"})").ok());
  // The canonical JSON reads back the same.
  auto back = parse_customer_details(to_json(d));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id_number, d.id_number);
}

TEST(AssessmentPolicyTest, AgeBoundaryIsTheBirthday) {
  auto p = policy(R"({"min_age": 18})");
  CustomerDetails d = adult();
  d.date_of_birth = "2006-05-01";
  EXPECT_TRUE(apply_builtin_rules(p, d, kToday).go);  // 18 today
  d.date_of_birth = "2006-05-02";
  auto young = apply_builtin_rules(p, d, kToday);  // 18 tomorrow
  EXPECT_FALSE(young.go);
  EXPECT_EQ(young.reasons, std::vector<std::string>{"customer is under 18"});
  // Born on 29 February: 18 on 1 March of a common year.
  d.date_of_birth = "2004-02-29";
  EXPECT_FALSE(apply_builtin_rules(p, d, Date{2022, 2, 28}).go);
  EXPECT_TRUE(apply_builtin_rules(p, d, Date{2022, 3, 1}).go);
  d.date_of_birth = "";
  EXPECT_EQ(apply_builtin_rules(p, d, kToday).reasons,
            std::vector<std::string>{"date_of_birth is missing (needed for the age check)"});
}

TEST(AssessmentPolicyTest, RequiredFieldsAndDenyList) {
  auto p = policy(R"({"required_fields":["name","address","email"],"deny_list":["x 123-4567"]})");
  CustomerDetails d = adult();
  auto r = apply_builtin_rules(p, d, kToday);
  EXPECT_FALSE(r.go);
  EXPECT_EQ(r.reasons, (std::vector<std::string>{"email is missing", "id number is on the deny list"}));
  d.email = "ada@example.org";
  d.id_number = "Y7654321";
  EXPECT_TRUE(apply_builtin_rules(p, d, kToday).go);
  d.address.clear();
  EXPECT_EQ(apply_builtin_rules(p, d, kToday).reasons, std::vector<std::string>{"address is missing"});
}

TEST(AssessmentPolicyTest, PolicyFileIsStrict) {
  auto err = [](std::string_view json) {
    auto r = parse_policy(json);
    return r ? std::string("(no error)") : r.error().message;
  };
  EXPECT_EQ(err(R"({"min_age":18,"deny_lst":[]})"),
            "policy: unknown key \"deny_lst\" (known: required_fields, min_age, deny_list, external_command)");
  EXPECT_NE(err(R"({"required_fields":["nam"]})").find("unknown field"), std::string::npos);
  EXPECT_EQ(err(R"({"min_age":"18"})"), "policy: min_age must be a whole number of years, 0 to 150");
  EXPECT_NE(err(R"({"external_command":{"argv":["kyc"]}})").find("absolute path"), std::string::npos);
  EXPECT_NE(err(R"({"external_command":{"argv":["/bin/true"],"timeout_seconds":0}})").find("timeout_seconds"),
            std::string::npos);
  test::TempDir dir;
  test::write_file(dir.file("policy.json"), R"({"min_age":21})", 0600);
  auto loaded = load_policy_file(dir.file("policy.json"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->min_age.value_or(0), 21);
  EXPECT_FALSE(load_policy_file(dir.file("absent.json")).ok());
}

// The external program is a real process; /bin/sh -c is only this test's way to write small programs.
ExternalCommand sh(const std::string& script, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return ExternalCommand{{"/bin/sh", "-c", script}, timeout};
}

TEST(ExternalAssessmentTest, ExitZeroIsGoAndTheProgramReadsTheDetails) {
  // Go only when the details on stdin carry the expected id number.
  auto v = run_external_assessment(sh("grep -q '\"id_number\":\"X1234567\"' && echo checked"), to_json(adult()));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->go);
  EXPECT_EQ(v->reason, "checked");
  CustomerDetails other = adult();
  other.id_number = "Z0";
  EXPECT_FALSE(run_external_assessment(sh("grep -q '\"id_number\":\"X1234567\"'"), to_json(other))->go);
}

TEST(ExternalAssessmentTest, NonZeroIsNoGoWithTheFirstLineAsReason) {
  auto v = run_external_assessment(sh("echo 'credit check failed'; echo second line; exit 3"), "{}");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->go);
  EXPECT_EQ(v->reason, "credit check failed");
  auto silent = run_external_assessment(sh("exit 7"), "{}");
  EXPECT_EQ(silent->reason, "external assessment said no-go (exit status 7)");
  auto killed = run_external_assessment(sh("kill -9 $$"), "{}");
  EXPECT_FALSE(killed->go);
  EXPECT_NE(killed->reason.find("signal 9"), std::string::npos);
  // A program that does not read its input at all still works (no SIGPIPE in the ADS).
  EXPECT_TRUE(run_external_assessment(sh("exit 0"), std::string(4000, ' '))->go);
}

TEST(ExternalAssessmentTest, TimeoutKillsTheProgramAndIsNoGo) {
  const auto start = std::chrono::steady_clock::now();
  auto v = run_external_assessment(sh("sleep 30", std::chrono::milliseconds(300)), "{}");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->go);
  EXPECT_TRUE(v->timed_out);
  EXPECT_EQ(v->reason, "external assessment did not answer within 300 ms; no-go");
  EXPECT_LT(took, std::chrono::seconds(5));
  // Exit 0 after the deadline is still no-go.
  auto late = run_external_assessment(sh("sleep 2; exit 0", std::chrono::milliseconds(200)), "{}");
  EXPECT_FALSE(late->go);
}

TEST(ExternalAssessmentTest, AssessFailsClosed) {
  PolicyConfig p = policy(R"({"min_age":18,"external_command":{"argv":["/nonexistent/kyc"],"timeout_seconds":2}})");
  auto d = assess(p, adult(), kToday);
  EXPECT_FALSE(d.go);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_NE(d.reasons[0].find("external assessment unavailable"), std::string::npos);
  // The built-in rules run first; the external program is not asked when they already say no.
  p.external = sh("exit 0");
  CustomerDetails young = adult();
  young.date_of_birth = "2010-01-01";
  EXPECT_EQ(assess(p, young, kToday).reasons, std::vector<std::string>{"customer is under 18"});
  EXPECT_TRUE(assess(p, adult(), kToday).go);
  p.external = sh("echo 'on a sanctions list'; exit 1");
  auto refused = assess(p, adult(), kToday);
  EXPECT_FALSE(refused.go);
  EXPECT_EQ(refused.reasons, std::vector<std::string>{"on a sanctions list"});
}

}  // namespace
}  // namespace cardperso::ads::policy
