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

// Answers every request as a willing HLR would: the lookup with `lookup` (a GET_REPLY, or an ERROR when
// it starts with "ERROR "), a create with `create_error` when given, everything else OK.
std::vector<std::string> run(SubscriberSync& sync, const std::string& lookup, const std::string& create_error = {}) {
  std::vector<std::string> sent;
  while (const auto* step = sync.current()) {
    sent.push_back((step->verb == CtrlVerb::Get ? "GET " : "SET ") + step->variable +
                   (step->verb == CtrlVerb::Set ? "=" + std::string(step->value.view()) : ""));
    if (step->verb == CtrlVerb::Get) {
      sync.on_reply(lookup.rfind("ERROR ", 0) == 0 ? reply(CtrlReply::Kind::Error, lookup.substr(6))
                                                   : reply(CtrlReply::Kind::GetReply, lookup));
    } else if (step->variable == "subscriber.create" && !create_error.empty()) {
      sync.on_reply(reply(CtrlReply::Kind::Error, create_error));
    } else {
      sync.on_reply(reply(CtrlReply::Kind::SetReply, "OK"));
    }
  }
  return sent;
}

const std::vector<std::string> kFieldSets = {
    "SET subscriber.by-imsi-" + kImsi + ".msisdn=41790000001",
    "SET subscriber.by-imsi-" + kImsi +
        ".aud3g=milenage,465b5ce8b199b49faa5f0a2ee238a6bc,opc,cd63cb71954a9f4e48a5994e37a02baf",
    "SET subscriber.by-imsi-" + kImsi + ".cs-enabled=1", "SET subscriber.by-imsi-" + kImsi + ".ps-enabled=1"};

std::vector<std::string> then_fields(std::vector<std::string> first) {
  first.insert(first.end(), kFieldSets.begin(), kFieldSets.end());
  return first;
}

TEST(SubscriberSync, ANewSubscriberIsLookedUpCreatedAndEveryFieldSet) {
  auto sync = SubscriberSync::provision(data());
  const auto sent = run(sync, "ERROR No such subscriber.");
  EXPECT_TRUE(sync.done());
  EXPECT_EQ(sent, then_fields({"GET subscriber.by-imsi-" + kImsi + ".msisdn", "SET subscriber.create=" + kImsi}));
}

TEST(SubscriberSync, AnExistingSubscriberIsUpdatedWithoutACreate) {
  auto again = SubscriberSync::provision(data());
  EXPECT_EQ(run(again, kImsi), then_fields({"GET subscriber.by-imsi-" + kImsi + ".msisdn"}));
  EXPECT_TRUE(again.done());
  // Created by someone else between the lookup and the create: still done.
  auto raced = SubscriberSync::provision(data());
  run(raced, "ERROR No such subscriber.", "Subscriber already exists.");
  EXPECT_TRUE(raced.done());
}

TEST(SubscriberSync, AnAbsentSubscriberCountsAsRemoved) {
  auto remove = SubscriberSync::remove(kImsi);
  remove.on_reply(reply(CtrlReply::Kind::Error, "Subscriber doesn't exist."));
  EXPECT_TRUE(remove.done());
  auto removed = SubscriberSync::remove(kImsi);
  EXPECT_EQ(run(removed, ""), (std::vector<std::string>{"SET subscriber.delete=" + kImsi}));
  EXPECT_TRUE(removed.done());
}

TEST(SubscriberSync, ARefusalEndsItWithTheHlrsReasonAndNoKey) {
  auto sync = SubscriberSync::provision(data());
  sync.on_reply(reply(CtrlReply::Kind::GetReply, kImsi));       // found: no create
  sync.on_reply(reply(CtrlReply::Kind::SetReply, "OK"));        // msisdn
  sync.on_reply(reply(CtrlReply::Kind::Error, "Invalid KI."));  // the aud3g step
  EXPECT_FALSE(sync.done());
  EXPECT_EQ(sync.current(), nullptr);
  ASSERT_TRUE(sync.failure());
  EXPECT_EQ(*sync.failure(), "the HLR refused subscriber.by-imsi-" + kImsi + ".aud3g: Invalid KI.");
  EXPECT_EQ(sync.failure()->find("465b5ce8"), std::string::npos);

  auto other = SubscriberSync::provision(data());
  other.on_reply(reply(CtrlReply::Kind::Error, "No such subscriber."));
  other.on_reply(reply(CtrlReply::Kind::Error, "Cannot create subscriber."));
  ASSERT_TRUE(other.failure());
  auto wrong_kind = SubscriberSync::remove(kImsi);
  wrong_kind.on_reply(reply(CtrlReply::Kind::GetReply, "x"));
  EXPECT_TRUE(wrong_kind.failure());
}

}  // namespace
}  // namespace cardperso::ads::hlr
