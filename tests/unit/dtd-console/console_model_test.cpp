#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cardperso/dtd/console/console_model.hpp"
#include "cardperso/proto/perso_messages.hpp"
#include "../dtd-customer/desk_message_builders.hpp"

using namespace cardperso;
using namespace cardperso::dtd;
using namespace cardperso::dtd::console;
using json = nlohmann::json;
using proto::MessageType;
using test::decision;
using test::done;
using test::receipt;

namespace {

// 2026-12-06 10:15:00 UTC; the tests run with TZ=UTC so "today" is that day.
std::chrono::system_clock::time_point fixed_now() { return std::chrono::system_clock::from_time_t(1796552100); }


json customer(std::string dob = "1990-02-28") {
  return {{"name", "Ada Lovelace"}, {"date_of_birth", std::move(dob)}, {"address", "1 Main St"},
          {"id_document", "passport"}, {"id_number", "X123"}, {"email", ""}};
}
std::string submit_new(const json& c) { return json{{"type", "submit_new"}, {"customer", c}}.dump(); }

// The model driven by a real desk in open mode: the page's submits are queued on it, its events reach
// the model; what the desk would send is kept.
class ConsoleModelTest : public ::testing::Test {
 protected:
  ConsoleModelTest() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    desk.set_open(true);
    desk.set_observer(&model);
    model.set_on_change([this] { ++changes; });
  }
  json state() const { return json::parse(model.state_json()); }
  json reply(const std::string& message) {
    auto r = model.handle(message);
    EXPECT_TRUE(r) << message;
    return r ? json::parse(*r) : json();
  }

  std::ostringstream terminal;
  CustomerDesk desk{{}, "", terminal};
  std::vector<DeskStep> steps;
  ConsoleRules rules = rules_from_policy(ads::policy::default_policy());
  ConsoleModel model{rules,
                     {.submit = [this](CustomerRequest r) {
                        steps.push_back(desk.enqueue(std::move(r)));
                        return desk.size();
                      },
                      .end_session = [this] { steps.push_back(desk.end_session()); }},
                     &fixed_now};
  int changes = 0;
};

}  // namespace

TEST_F(ConsoleModelTest, TheStateStartsWithTheRulesAndTheAdsDown) {
  const auto s = state();
  EXPECT_EQ(s["type"], "state");
  EXPECT_EQ(s["links"]["ads"], "down");
  EXPECT_EQ(s["links"]["terminal"], "down");
  EXPECT_EQ(s["links"]["retailer"], "none");
  EXPECT_TRUE(s["prompt"].is_null());
  EXPECT_EQ(s["rules"]["min_age"], 18);
  EXPECT_EQ(s["rules"]["required"], json({"name", "date_of_birth", "address", "id_document", "id_number"}));
  EXPECT_TRUE(s["request"].is_null());
  EXPECT_EQ(s["queue"], 0);
  EXPECT_EQ(s["today"], json::array());
  EXPECT_EQ(s["notice"]["level"], "warning");
  EXPECT_EQ(s["notice"]["text"], std::string(kAdsDownNotice));
  model.set_links(true, true, false);
  EXPECT_TRUE(state()["notice"].is_null());
  model.set_prompt(Prompt{"writing", 3, 9});
  EXPECT_EQ(state()["prompt"], json({{"code", "writing"}, {"step", 3}, {"steps", 9}}));
}

TEST_F(ConsoleModelTest, FormErrorsNameEachBadFieldAndQueueNothing) {
  auto c = customer("06/12/1990");
  c.erase("name");
  c["address"] = "1 Main St\nflat 2";
  const auto r = reply(submit_new(c));
  EXPECT_EQ(r["type"], "form_errors");
  EXPECT_EQ(r["form"], "new");
  ASSERT_TRUE(r["errors"].contains("date_of_birth")) << r;
  EXPECT_NE(r["errors"]["date_of_birth"].get<std::string>().find("YYYY-MM-DD"), std::string::npos);
  EXPECT_EQ(r["errors"]["name"], "is required");
  EXPECT_NE(r["errors"]["address"].get<std::string>().find("control characters"), std::string::npos);
  EXPECT_FALSE(r["errors"].contains("id_number"));
  EXPECT_EQ(desk.size(), 0u);
  const auto date = reply(submit_new(customer("1990-02-30")));
  EXPECT_NE(date["errors"]["date_of_birth"].get<std::string>().find("not a calendar date"), std::string::npos);
  auto colour = customer();
  colour["colour"] = "red";
  const auto unknown = reply(submit_new(colour));
  EXPECT_NE(unknown["errors"]["_form"].get<std::string>().find("colour"), std::string::npos);
  EXPECT_EQ(desk.size(), 0u);
}

TEST_F(ConsoleModelTest, AnUnderAgeCustomerIsStoppedAtTheCounterAgainstToday) {
  const auto young = reply(submit_new(customer("2008-12-07")));  // 18 tomorrow
  EXPECT_EQ(young["type"], "form_errors");
  EXPECT_NE(young["errors"]["date_of_birth"].get<std::string>().find("under 18"), std::string::npos) << young;
  const auto today = reply(submit_new(customer("2008-12-06")));  // 18 today
  EXPECT_EQ(today["type"], "accepted") << today;
  EXPECT_EQ(desk.size(), 1u);
}

TEST_F(ConsoleModelTest, ThePolicysRequiredFieldsAreRequired) {
  ads::policy::PolicyConfig policy;
  policy.required_fields = {"email"};
  ConsoleModel strict(rules_from_policy(policy), {.submit = [](CustomerRequest) { return std::size_t{1}; }},
                      &fixed_now);
  EXPECT_EQ(json::parse(strict.state_json())["rules"]["required"].back(), "email");
  EXPECT_TRUE(json::parse(strict.state_json())["rules"]["min_age"].is_null());
  auto r = json::parse(*strict.handle(submit_new(customer("2015-01-01"))));  // no min_age: a child is fine
  EXPECT_EQ(r["errors"], json({{"email", "is required"}}));
  auto c = customer("2015-01-01");
  c["email"] = "ada@example.org";
  EXPECT_EQ(json::parse(*strict.handle(submit_new(c)))["type"], "accepted");
}

TEST_F(ConsoleModelTest, AValidSubmitIsQueuedAndSentOnceTheSessionIsUp) {
  const auto r = reply(submit_new(customer()));
  EXPECT_EQ(r, json({{"type", "accepted"}, {"form", "new"}, {"id", 1}}));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_TRUE(steps[0].send.empty());  // no session yet: it waits
  auto s = state();
  EXPECT_EQ(s["request"]["id"], 1);
  EXPECT_EQ(s["request"]["label"], "Ada Lovelace");
  EXPECT_EQ(s["request"]["status"], "queued");
  reply(submit_new(customer()));
  EXPECT_EQ(state()["queue"], 1);
  const auto sent = desk.on_established();
  ASSERT_EQ(sent.send.size(), 1u);
  const auto c1 = proto::CustomerDetailsMsg::decode(sent.send[0].plaintext);
  ASSERT_TRUE(c1);
  EXPECT_EQ(json::parse(c1->json)["name"], "Ada Lovelace");
  EXPECT_FALSE(json::parse(c1->json).contains("email"));  // left empty in the form
  EXPECT_EQ(state()["request"]["status"], "sent");
}

TEST_F(ConsoleModelTest, UnknownMessagesGetTheErrorReplyOnly) {
  const json expected = {{"type", "form_errors"}, {"form", ""}, {"errors", {{"_form", "unknown message"}}}};
  for (const char* m : {"nonsense", "[]", "{}", R"({"type":"hello"})", R"({"type":7})", ""})
    EXPECT_EQ(reply(m), expected) << m;
  EXPECT_EQ(desk.size(), 0u);
}

TEST_F(ConsoleModelTest, ModificationsAreCheckedFieldByField) {
  const auto bad = reply(R"({"type":"submit_modification","iccid":"8988211000000000012",)"
                         R"("changes":{"spn":"A NAME LONGER THAN 16","plmnsel":["001/01","12"],"msisdn":"0791"}})");
  EXPECT_EQ(bad["form"], "modification");
  EXPECT_NE(bad["errors"]["iccid"].get<std::string>().find("check digit"), std::string::npos) << bad;
  EXPECT_TRUE(bad["errors"].contains("spn"));
  EXPECT_TRUE(bad["errors"].contains("plmnsel"));
  EXPECT_TRUE(bad["errors"].contains("msisdn"));
  const auto none = reply(R"({"type":"submit_modification","iccid":"8988211000000000011","changes":{}})");
  EXPECT_TRUE(none["errors"].contains("_form"));
  const auto ok = reply(R"({"type":"submit_modification","iccid":"8988211000000000011",)"
                        R"("changes":{"spn":"NEW-NET","plmnsel":["001/01","29510"],"msisdn":"new"}})");
  EXPECT_EQ(ok, json({{"type", "accepted"}, {"form", "modification"}, {"id", 1}}));
  EXPECT_EQ(state()["request"]["label"], "card 8988211000000000011");
  EXPECT_EQ(state()["request"]["kind"], "modification");
}

TEST_F(ConsoleModelTest, GoThenPersonalisedThenReceiptEndsInTodaysList) {
  model.set_links(true, true, true);
  (void)desk.on_established();
  reply(submit_new(customer()));
  ASSERT_EQ(steps.back().send.size(), 1u);  // sent at once: the session is up and the desk idle
  EXPECT_EQ(state()["request"]["status"], "sent");
  (void)desk.on_message(MessageType::Decision, decision(true));
  auto s = state();
  EXPECT_EQ(s["request"]["status"], "go");
  EXPECT_EQ(s["request"]["decision"], json({{"go", true}, {"reasons", json::array()}}));
  (void)desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011", "41790000001"));
  s = state();
  EXPECT_EQ(s["request"]["status"], "done");
  EXPECT_EQ(s["request"]["outcome"]["result"], "personalised");
  EXPECT_EQ(s["request"]["outcome"]["msisdn"], "41790000001");
  EXPECT_EQ(s["request"]["outcome"]["iccid"], "8988211000000000011");
  const std::string r = R"({"receipt_id":"8988211000000000011-1","iccid":"8988211000000000011","msisdn":"41790000001"})";
  const auto after = desk.on_message(MessageType::Receipt, receipt(r));
  EXPECT_FALSE(after.terminate);  // open mode: the desk waits for the next customer
  s = state();
  EXPECT_EQ(s["request"]["receipt_id"], "8988211000000000011-1");
  ASSERT_EQ(s["today"].size(), 1u);
  EXPECT_EQ(s["today"][0], json({{"id", 1}, {"time", "2026-12-06T10:15:00Z"}, {"kind", "new"},
                                 {"label", "Ada Lovelace"}, {"result", "personalised"},
                                 {"iccid", "8988211000000000011"}, {"msisdn", "41790000001"}, {"reason", ""},
                                 {"receipt_id", "8988211000000000011-1"}}));
  EXPECT_EQ(model.receipt("8988211000000000011-1"), r);
  EXPECT_FALSE(model.receipt("8988211000000000011-2"));
  EXPECT_GT(changes, 4);
  // The retailer ends the session: idle, so Terminate at once.
  EXPECT_FALSE(model.handle(R"({"type":"end_session"})"));
  ASSERT_FALSE(steps.empty());
  EXPECT_TRUE(steps.back().terminate);
}

TEST_F(ConsoleModelTest, NoGoShowsTheReasonsAndNewestComesFirst) {
  model.set_links(true, true, true);
  (void)desk.on_established();
  reply(submit_new(customer()));
  (void)desk.on_message(MessageType::Decision, decision(true));
  (void)desk.on_message(MessageType::Done, done(proto::PersoOutcome::Failed, "8988211000000000011", "", "card pulled"));
  auto c = customer();
  c["name"] = "Bob Young";
  reply(submit_new(c));
  (void)desk.on_message(MessageType::Decision, decision(false, "customer is under 18; id number is on the deny list"));
  const auto s = state();
  EXPECT_EQ(s["request"]["id"], 2);
  EXPECT_EQ(s["request"]["status"], "no_go");
  EXPECT_EQ(s["request"]["decision"]["go"], false);
  EXPECT_EQ(s["request"]["decision"]["reasons"], json({"customer is under 18", "id number is on the deny list"}));
  ASSERT_EQ(s["today"].size(), 2u);
  EXPECT_EQ(s["today"][0]["label"], "Bob Young");
  EXPECT_EQ(s["today"][0]["result"], "no_go");
  EXPECT_EQ(s["today"][0]["reason"], "customer is under 18; id number is on the deny list");
  EXPECT_EQ(s["today"][1]["result"], "failed");
  EXPECT_EQ(s["today"][1]["reason"], "card pulled");
}

TEST_F(ConsoleModelTest, TheTerminalDroppingMidCardGivesTheNoticeAndTheRequestGoesAgain) {
  model.set_links(true, true, true);
  (void)desk.on_established();
  reply(submit_new(customer()));
  (void)desk.on_message(MessageType::Decision, decision(true));
  model.set_links(true, false, true);
  desk.on_session_ended();
  auto s = state();
  EXPECT_EQ(s["notice"]["level"], "error");
  EXPECT_EQ(s["notice"]["text"], std::string(kTerminalDroppedNotice));
  EXPECT_EQ(s["request"]["status"], "queued");
  EXPECT_TRUE(s["today"].empty());
  // Signed on again: the same request goes out and the notice is over.
  model.set_links(true, true, true);
  const auto again = desk.on_established();
  EXPECT_EQ(again.send.size(), 1u);
  s = state();
  EXPECT_EQ(s["request"]["status"], "sent");
  EXPECT_TRUE(s["notice"].is_null());
}

TEST_F(ConsoleModelTest, EndSessionWaitsForTheRequestInProgress) {
  model.set_links(true, true, true);
  (void)desk.on_established();
  reply(submit_new(customer()));
  EXPECT_FALSE(model.handle(R"({"type":"end_session"})"));
  EXPECT_FALSE(steps.back().terminate);
  (void)desk.on_message(MessageType::Decision, decision(true));
  (void)desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011", "41790000001"));
  const auto last = desk.on_message(MessageType::Receipt, receipt(R"({"receipt_id":"8988211000000000011-1"})"));
  EXPECT_TRUE(last.terminate);
}
