#include "cardperso/ads/hlr/subscriber_sync.hpp"

#include <gtest/gtest.h>

namespace cardperso::ads::hlr {
namespace {

const std::string kImsi = "001010000000001";

SubscriberData data() {
  return {kImsi, "41790000001", SecretBytes(hex("465b5ce8b199b49faa5f0a2ee238a6bc")),
          SecretBytes(hex("cd63cb71954a9f4e48a5994e37a02baf"))};
}

CtrlReply reply(CtrlReply::Kind kind, std::string value, std::string variable = "v") {
  CtrlReply r;
  r.kind = kind;
  r.variable = std::move(variable);
  r.value = CtrlText(value);
  return r;
}

std::vector<std::string> run_ok(SubscriberSync& sync, const std::string& first_error = {}) {
  std::vector<std::string> sent;
  bool first = true;
  while (const auto* step = sync.current()) {
    sent.push_back(step->variable + "=" + std::string(step->value.view()));
    if (first && !first_error.empty()) {
      sync.on_reply(reply(CtrlReply::Kind::Error, first_error));
    } else {
      sync.on_reply(reply(CtrlReply::Kind::SetReply, "OK"));
    }
    first = false;
  }
  return sent;
}

TEST(SubscriberSync, ProvisionIsCreateThenEveryFieldSet) {
  auto sync = SubscriberSync::provision(data());
  const auto sent = run_ok(sync);
  EXPECT_TRUE(sync.done());
  EXPECT_EQ(sent, (std::vector<std::string>{
                      "subscriber.create=" + kImsi,
                      "subscriber.by-imsi-" + kImsi + ".msisdn=41790000001",
                      "subscriber.by-imsi-" + kImsi +
                          ".aud3g=milenage,465b5ce8b199b49faa5f0a2ee238a6bc,opc,cd63cb71954a9f4e48a5994e37a02baf",
                      "subscriber.by-imsi-" + kImsi + ".cs-enabled=1",
                      "subscriber.by-imsi-" + kImsi + ".ps-enabled=1"}));
}

TEST(SubscriberSync, AnExistingSubscriberIsUpdatedAndAnAbsentOneCountsAsRemoved) {
  auto again = SubscriberSync::provision(data());
  EXPECT_EQ(run_ok(again, "Subscriber already exists.").size(), 5u);
  EXPECT_TRUE(again.done());
  auto remove = SubscriberSync::remove(kImsi);
  EXPECT_EQ(run_ok(remove, "Subscriber doesn't exist."), (std::vector<std::string>{"subscriber.delete=" + kImsi}));
  EXPECT_TRUE(remove.done());
}

TEST(SubscriberSync, ARefusalEndsItWithTheHlrsReasonAndNoKey) {
  auto sync = SubscriberSync::provision(data());
  sync.on_reply(reply(CtrlReply::Kind::SetReply, "1"));
  sync.on_reply(reply(CtrlReply::Kind::SetReply, "OK"));
  sync.on_reply(reply(CtrlReply::Kind::Error, "Invalid KI."));  // the aud3g step
  EXPECT_FALSE(sync.done());
  EXPECT_EQ(sync.current(), nullptr);
  ASSERT_TRUE(sync.failure());
  EXPECT_EQ(*sync.failure(), "the HLR refused subscriber.by-imsi-" + kImsi + ".aud3g: Invalid KI.");
  EXPECT_EQ(sync.failure()->find("465b5ce8"), std::string::npos);

  auto other = SubscriberSync::provision(data());
  other.on_reply(reply(CtrlReply::Kind::Error, "Cannot create subscriber."));
  ASSERT_TRUE(other.failure());
  auto wrong_kind = SubscriberSync::remove(kImsi);
  wrong_kind.on_reply(reply(CtrlReply::Kind::GetReply, "x"));
  EXPECT_TRUE(wrong_kind.failure());
}

}  // namespace
}  // namespace cardperso::ads::hlr
