// --log-format json on a real personalisation: ads-server, dtd-agent, ste-firmware and both
// card-sims (retailer card, customer card) log with --log-format json --log-file, and every line of
// every log file must be one JSON object with time, level, program and message, the program's name
// in `program`, the session, retailer and ICCID as fields where the message names them. The
// fixture's card-sims log at warn (usually nothing), so one more card-sim runs at debug afterwards.
// The fixture's secret scan still runs at teardown over these files.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "personalisation_fixture.hpp"

namespace cardperso::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class JsonLogs : public PersonalisationFixture {
 protected:
  // Every line of the file as JSON; a line that is not an object with the four string fields (and the
  // program's name in `program`) fails the test, naming the file and line.
  std::vector<json> json_lines(const std::string& path, const std::string& program, bool may_be_empty = false) {
    static const std::regex time_re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
    std::vector<json> out;
    std::istringstream in(read_text_file(path));
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      auto j = json::parse(line, nullptr, false);
      const std::string where = path + " line " + std::to_string(number) + ": " + line;
      if (j.is_discarded() || !j.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << where;
        continue;
      }
      bool complete = true;
      for (const char* field : {"time", "level", "program", "message"}) {
        if (j.contains(field) && j[field].is_string()) continue;
        ADD_FAILURE() << "no string '" << field << "' in " << where;
        complete = false;
      }
      if (!complete) continue;
      EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), time_re)) << where;
      EXPECT_EQ(j["program"], program) << where;
      out.push_back(std::move(j));
    }
    if (!may_be_empty) {
      EXPECT_FALSE(out.empty()) << path << " has no log line";
    }
    return out;
  }

  // The first line whose message matches re (searched), or null.
  static json first_matching(const std::vector<json>& lines, const std::string& re) {
    const std::regex r(re);
    for (const auto& j : lines)
      if (std::regex_search(j["message"].get<std::string>(), r)) return j;
    return nullptr;
  }
};

TEST_F(JsonLogs, EveryLineOfEveryProgramsLogIsAJsonObject) {
  const std::vector<std::string> json_format = {"--log-format", "json"};
  const std::string iccid = standard_stock(1).at(0);
  const std::string image = card_image("cards", iccid);
  const std::string retailer_sim_log = file("card-sim-retailer.log"), customer_sim_log = file("card-sim-customer.log");

  // start_personalisation, with every program logging JSON and the card-sims to a file too.
  std::vector<std::string> ads_args = {"--profile", profile_path_};
  ads_args.insert(ads_args.end(), json_format.begin(), json_format.end());
  const int ads_port = start_ads(ads_args);
  ASSERT_GT(ads_port, 0);
  std::vector<std::string> dtd_args = {"--customer",    customer_file("Alice Example", "1990-02-28"),
                                       "--receipt-dir", receipt_dir_,
                                       "--exit-after-last"};
  dtd_args.insert(dtd_args.end(), json_format.begin(), json_format.end());
  dtd_port_ = start_dtd(ads_port, "", true, dtd_args);
  ASSERT_GT(dtd_port_, 0);
  retailer_sim_ = start_card(retailer_image_, 0, {"--log-format", "json", "--log-file", retailer_sim_log});
  ASSERT_NE(retailer_sim_, nullptr);
  SteOptions ste_options;
  ste_options.keypad = {kPin};
  for (const auto& k : new_card_keys()) ste_options.keypad.push_back(k);
  ste_options.extra_args = json_format;
  start_ste(dtd_port_, ste_options);

  remove_retailer_card();
  auto* card = insert_customer_card(image, 1, {"--log-format", "json", "--log-file", customer_sim_log});
  ASSERT_NE(card, nullptr);
  auto personalised = wait_display("Card personalised: MSISDN (\\d+)$", 60s);
  ASSERT_TRUE(personalised) << display_text();
  const std::string msisdn = personalised->at(1);
  pull(card);
  expect_session_completed();
  stop_programs();  // every log complete

  const auto ads = json_lines(ads_log_, "ads-server");
  const auto dtd = json_lines(dtd_log_, "dtd-agent");
  const auto ste = json_lines(ste_log_, "ste-firmware");
  json_lines(retailer_sim_log, "card-sim", true);  // --log-level warn (CardSimProcess)
  json_lines(customer_sim_log, "card-sim", true);
  // The stderr sink writes the same lines (ads-server and dtd-agent write nothing else there).
  json_lines(file("ads.stderr"), "ads-server");
  json_lines(file("dtd.stderr"), "dtd-agent");

  const json established = first_matching(ads, "^session \\d+ established: retailer ");
  ASSERT_TRUE(established.is_object()) << "ads-server logged no established session";
  EXPECT_EQ(established.value("retailer", ""), kSerial) << established.dump();
  EXPECT_TRUE(established.contains("session")) << established.dump();
  EXPECT_EQ(established["level"], "info");

  const json done = first_matching(dtd, "^card \\d+ personalised: msisdn ");
  ASSERT_TRUE(done.is_object()) << "dtd-agent logged no personalised card";
  EXPECT_EQ(done.value("iccid", ""), iccid) << done.dump();
  EXPECT_EQ(done["message"], "card " + iccid + " personalised: msisdn " + msisdn);

  const json in_reader = first_matching(ste, "^customer card \\d+ in the reader");
  ASSERT_TRUE(in_reader.is_object()) << "ste-firmware logged no customer card";
  EXPECT_EQ(in_reader.value("iccid", ""), iccid) << in_reader.dump();
  const json signed_on = first_matching(ste, "^retailer card \\d+ signed on");
  ASSERT_TRUE(signed_on.is_object()) << "ste-firmware logged no sign-on";
  EXPECT_EQ(signed_on.value("retailer", ""), kSerial) << signed_on.dump();
  std::cout << "an ads-server line: " << established.dump() << "\n";

  // card-sim at debug, in the second reader, until it has put its card in.
  const std::string sim_log = file("card-sim-debug.log");
  ChildProcess sim("card-sim debug", {CARDPERSO_CARD_SIM_PATH, "--image", retailer_image_, "--vpcd-port", "35964",
                                      "--log-level", "debug", "--log-format", "json", "--log-file", sim_log},
                   file("card-sim-debug.stderr"));
  EXPECT_TRUE(sim.wait_for_line(std::regex("^inserted$"), 10s)) << "card-sim did not report 'inserted'";
  EXPECT_TRUE(sim.terminate(5s).has_value()) << "card-sim did not stop on SIGTERM";
  const auto sim_lines = json_lines(sim_log, "card-sim");
  EXPECT_TRUE(first_matching(sim_lines, "^card inserted").is_object()) << read_text_file(sim_log);
}

}  // namespace
}  // namespace cardperso::e2e
