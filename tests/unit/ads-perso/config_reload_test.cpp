// ads-server's reload (SIGHUP): the plan a freshly loaded setup makes (plan_reload, no I/O), and the
// whole reload on a real store (reload_perso_setup): the files read again, the snapshot swapped on
// SqlitePersoServices, the audit entry written; a bad file changes nothing but the audit log.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "cardperso/ads/perso/perso_services_sqlite.hpp"
#include "database_fixture.hpp"
#include "perso_setup.hpp"

namespace cardperso::ads {
namespace {

using test::must;

const std::string kProfile = std::string(CARDPERSO_PROFILES_DIR) + "/gsm-sim-default.json";

policy::CustomerDetails adult() {
  return must(policy::parse_customer_details(R"({"name":"Ada Lovelace","date_of_birth":"1990-12-10"})"));
}

PersoSetup loaded_setup(const std::string& policy_source) {
  PersoSetup setup;
  PersoConfig config;
  config.profile = must(perso::load_card_profile(kProfile));
  setup.config = std::move(config);
  setup.policy = policy::default_policy();
  setup.profile_path = kProfile;
  setup.policy_source = policy_source;
  setup.summary = "personalisation: profile gsm-sim-default (summary)";
  return setup;
}

TEST(PlanReload, ALoadedSetupIsInstalledAndAuditedWithNamesOnly) {
  PersoSetup setup = loaded_setup("/etc/cardperso/policy.json");
  setup.policy.external = policy::ExternalCommand{{"/usr/local/bin/kyc", "--token", "s3cr3t-token"}, std::chrono::seconds(5)};
  const auto plan = plan_reload(Result<PersoSetup>(std::move(setup)), true);
  EXPECT_TRUE(plan.install);
  EXPECT_EQ(plan.audit_event, "config_reloaded");
  const auto& profile = must(perso::load_card_profile(kProfile));
  EXPECT_EQ(plan.audit_detail, "profile=gsm-sim-default version=" + profile.version + " profile_file=" + kProfile +
                                   " policy=/etc/cardperso/policy.json external_command=yes");
  // The external command's arguments may hold a credential: neither the audit nor the log names them.
  EXPECT_EQ(plan.audit_detail.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(plan.log.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(plan.log, "configuration reloaded: personalisation: profile gsm-sim-default (summary)");
}

TEST(PlanReload, ASetupThatDidNotLoadKeepsTheRunningOneAndSaysWhy) {
  const auto plan = plan_reload(Result<PersoSetup>(fail("--policy /etc/p.json: policy: min_age must be a whole number")), true);
  EXPECT_FALSE(plan.install);
  EXPECT_EQ(plan.audit_event, "config_reload_failed");
  EXPECT_EQ(plan.audit_detail, "reason=--policy /etc/p.json: policy: min_age must be a whole number");
  EXPECT_EQ(plan.log,
            "configuration not reloaded: --policy /etc/p.json: policy: min_age must be a whole number; the running "
            "configuration stays in force");
}

TEST(PlanReload, AReasonInTheAuditIsPrintableAndBounded) {
  const auto plan = plan_reload(Result<PersoSetup>(fail("bad\nline\x01" + std::string(2000, 'x'))), true);
  EXPECT_FALSE(plan.install);
  EXPECT_EQ(plan.audit_detail.find('\n'), std::string::npos);
  EXPECT_EQ(plan.audit_detail.find('\x01'), std::string::npos);
  EXPECT_LE(plan.audit_detail.size(), 420u);
}

TEST(PlanReload, PersonalisationIsNeitherSwitchedOffNorOnByAReload) {
  PersoSetup none;
  none.policy = policy::default_policy();
  none.policy_source = "default";
  none.summary = "personalisation disabled: no --profile given and no gsm-sim-default.json in /x or ./profiles";
  // Running with a profile, and the default one has gone: keep running with the current one.
  const auto off = plan_reload(Result<PersoSetup>(none), true);
  EXPECT_FALSE(off.install);
  EXPECT_EQ(off.audit_event, "config_reload_failed");
  EXPECT_NE(off.log.find("a reload does not switch personalisation off"), std::string::npos) << off.log;
  // Disabled at start and a profile is there now: a restart is needed.
  const auto on = plan_reload(Result<PersoSetup>(loaded_setup("default")), false);
  EXPECT_FALSE(on.install);
  EXPECT_EQ(on.audit_event, "config_reload_failed");
  EXPECT_NE(on.log.find("restart ads-server to enable it"), std::string::npos) << on.log;
  // Disabled before and after: nothing to install, the reload itself went well.
  const auto still = plan_reload(Result<PersoSetup>(none), false);
  EXPECT_FALSE(still.install);
  EXPECT_EQ(still.audit_event, "config_reloaded");
  EXPECT_EQ(still.audit_detail, "personalisation=disabled policy=default");
}

class ConfigReload : public test::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    options.profile_path = kProfile;
    options.policy_path = dir.file("policy.json");
    write_policy(R"({"required_fields":["name","date_of_birth"],"min_age":18})");
    auto setup = must(load_perso_setup(options));
    services.emplace(*db, key, std::move(*setup.config), std::move(setup.policy), "ads-test", clock());
    audit.emplace(*db, key, clock());
  }
  void write_policy(const std::string& json) { std::ofstream(options.policy_path, std::ios::trunc) << json; }
  AuditEntry last_audit() {
    auto entries = must(audit->last(1));
    if (entries.empty()) throw std::runtime_error("no audit entry");
    return entries.back();
  }
  void reload() { reload_perso_setup(options, &*services, *db, *audit); }

  AdsOptions options;
  std::optional<SqlitePersoServices> services;
  std::optional<AuditLog> audit;
};

TEST_F(ConfigReload, ANewPolicyIsInForceForTheNextAssessmentAndAudited) {
  ASSERT_TRUE(services->assess(adult()).go);
  const auto before = services->settings();
  const auto config_before = services->config();

  write_policy(R"({"min_age":150})");
  reload();
  const auto decision = services->assess(adult());
  EXPECT_FALSE(decision.go);
  ASSERT_EQ(decision.reasons.size(), 1u);
  EXPECT_NE(decision.reasons[0].find("150"), std::string::npos) << decision.reasons[0];
  EXPECT_NE(services->settings(), before);
  const auto entry = last_audit();
  EXPECT_EQ(entry.event, "config_reloaded");
  EXPECT_EQ(entry.subject, "configuration");
  EXPECT_EQ(entry.actor, "ads-server");
  EXPECT_NE(entry.detail.find("profile=gsm-sim-default "), std::string::npos) << entry.detail;
  EXPECT_NE(entry.detail.find("policy=" + options.policy_path), std::string::npos) << entry.detail;
  // What was taken before the reload is still the old snapshot, whole and unchanged.
  EXPECT_EQ(before->policy.min_age, 18);
  EXPECT_EQ(before->policy.required_fields.size(), 2u);
  EXPECT_EQ(config_before->profile.name, "gsm-sim-default");
  EXPECT_NE(services->config(), config_before);
  EXPECT_TRUE(must(audit->verify()).intact());
}

TEST_F(ConfigReload, ABadPolicyOrProfileKeepsTheLastGoodOneAndIsAuditedAsFailed) {
  write_policy(R"({"min_age":150})");
  reload();
  const auto good = services->settings();
  ASSERT_EQ(good->policy.min_age, 150);

  write_policy(R"({"min_age": "eighteen"})");
  reload();
  EXPECT_EQ(services->settings(), good);  // the very same snapshot
  EXPECT_FALSE(services->assess(adult()).go);
  auto entry = last_audit();
  EXPECT_EQ(entry.event, "config_reload_failed");
  EXPECT_NE(entry.detail.find("reason=--policy " + options.policy_path + ": "), std::string::npos) << entry.detail;
  EXPECT_NE(entry.detail.find("min_age"), std::string::npos) << entry.detail;

  write_policy(R"({"min_age":18})");
  options.profile_path = dir.file("missing-profile.json");
  reload();
  EXPECT_EQ(services->settings(), good);
  entry = last_audit();
  EXPECT_EQ(entry.event, "config_reload_failed");
  EXPECT_NE(entry.detail.find("missing-profile.json"), std::string::npos) << entry.detail;

  std::remove(options.policy_path.c_str());
  options.profile_path = kProfile;
  reload();
  EXPECT_EQ(services->settings(), good);
  EXPECT_EQ(last_audit().event, "config_reload_failed");
  EXPECT_EQ(must(audit->last(10)).size(), 4u);  // one entry per reload, nothing else
  EXPECT_TRUE(must(audit->verify()).intact());
}

}  // namespace
}  // namespace cardperso::ads
