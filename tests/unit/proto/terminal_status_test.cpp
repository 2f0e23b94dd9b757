// TerminalStatus (0x06): the terminal's display as a code, STE->DTD on channel 0, clear.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "cardperso/proto/terminal_status.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {

// Every prompt with a step/steps pair it accepts.
std::vector<TerminalStatus> one_of_each() {
  std::vector<TerminalStatus> out;
  for (std::uint8_t raw = 1; raw <= kMaxTerminalPrompt; ++raw) {
    const auto prompt = *to_terminal_prompt(raw);
    if (prompt == TerminalPrompt::Writing)
      out.push_back(TerminalStatus::writing(7, 93));
    else if (prompt == TerminalPrompt::WrongRetailerPin)
      out.push_back(TerminalStatus::wrong_retailer_pin(2));
    else
      out.push_back(TerminalStatus::of(prompt));
  }
  return out;
}

Bytes payload(std::uint8_t prompt, std::uint16_t step, std::uint16_t steps) {
  Bytes b{prompt};
  put_u16(b, step);
  put_u16(b, steps);
  return b;
}

}  // namespace

TEST(TerminalStatus, TheTypeIsClearOnChannelZeroOnly) {
  EXPECT_EQ(to_message_type(0x06), MessageType::TerminalStatus);
  EXPECT_EQ(name(MessageType::TerminalStatus), "TerminalStatus");
  EXPECT_FALSE(is_sealed_type(MessageType::TerminalStatus));
  EXPECT_TRUE(allowed_on(MessageType::TerminalStatus, Channel::LinkControl));
  EXPECT_FALSE(allowed_on(MessageType::TerminalStatus, Channel::SteAds));
  EXPECT_FALSE(allowed_on(MessageType::TerminalStatus, Channel::DtdAds));
  EXPECT_FALSE(to_message_type(0x07));
}

TEST(TerminalStatus, PromptNamesAreTheConsoles) {
  const std::vector<std::string_view> names = {
      "ready",          "insert_retailer_card", "enter_retailer_pin", "wrong_retailer_pin",
      "retailer_card_blocked", "signed_on",     "remove_retailer_card", "insert_customer_card",
      "confirm_on_terminal", "cancelled",       "enter_customer_pin", "enter_customer_pin_again",
      "pins_differ",    "enter_customer_puk",   "writing",            "card_done",
      "card_failed",    "card_refused",         "remove_customer_card", "session_ended",
      "refused"};
  ASSERT_EQ(names.size(), std::size_t{kMaxTerminalPrompt});
  std::set<std::string_view> seen;
  for (std::uint8_t raw = 1; raw <= kMaxTerminalPrompt; ++raw) {
    const auto prompt = to_terminal_prompt(raw);
    ASSERT_TRUE(prompt) << int(raw);
    EXPECT_EQ(to_string(*prompt), names[raw - 1]);
    EXPECT_EQ(terminal_prompt_from_string(names[raw - 1]), prompt);
    seen.insert(to_string(*prompt));
  }
  EXPECT_EQ(seen.size(), names.size());
  EXPECT_FALSE(to_terminal_prompt(0));
  EXPECT_FALSE(to_terminal_prompt(kMaxTerminalPrompt + 1));
  EXPECT_FALSE(terminal_prompt_from_string("Ready"));
  EXPECT_FALSE(terminal_prompt_from_string(""));
  EXPECT_EQ(TerminalStatus::of(TerminalPrompt::ConfirmOnTerminal).prompt, *terminal_prompt_from_string("confirm_on_terminal"));
}

TEST(TerminalStatus, EveryPromptRoundTrips) {
  for (const auto& status : one_of_each()) {
    const Bytes bytes = status.encode();
    ASSERT_EQ(bytes.size(), TerminalStatus::kSize) << to_string(status.prompt);
    EXPECT_EQ(bytes[0], static_cast<std::uint8_t>(status.prompt));
    auto back = TerminalStatus::decode(bytes);
    ASSERT_TRUE(back) << to_string(status.prompt) << ": " << back.error().message;
    EXPECT_EQ(*back, status);
  }
}

TEST(TerminalStatus, LayoutIsBigEndian) {
  EXPECT_EQ(to_hex(TerminalStatus::writing(0x0102, 0x0304).encode()), "0f01020304");
  EXPECT_EQ(to_hex(TerminalStatus::of(TerminalPrompt::Ready).encode()), "0100000000");
  EXPECT_EQ(to_hex(TerminalStatus::wrong_retailer_pin(2).encode()), "0400020000");
  auto frame = make_frame(Channel::LinkControl, 0, TerminalStatus::of(TerminalPrompt::CardDone));
  EXPECT_EQ(frame.header.type, 0x06);
  EXPECT_EQ(frame.header.flags, 0);  // clear
  EXPECT_EQ(frame.header.length, 5u);
}

TEST(TerminalStatus, ExactLength) {
  const Bytes good = TerminalStatus::writing(1, 1).encode();
  ASSERT_TRUE(TerminalStatus::decode(good));
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(TerminalStatus::decode(longer));
  EXPECT_FALSE(TerminalStatus::decode(ByteView(good).first(4)));
  EXPECT_FALSE(TerminalStatus::decode(Bytes{}));
}

TEST(TerminalStatus, UnknownPromptIsRefused) {
  for (int raw : {0, kMaxTerminalPrompt + 1, 0x7f, 0xff}) {
    auto r = TerminalStatus::decode(payload(static_cast<std::uint8_t>(raw), 0, 0));
    ASSERT_FALSE(r) << raw;
    EXPECT_NE(r.error().message.find("unknown"), std::string::npos) << r.error().message;
  }
  TerminalStatus bad;
  bad.prompt = static_cast<TerminalPrompt>(0);
  EXPECT_THROW((void)bad.encode(), std::invalid_argument);
}

TEST(TerminalStatus, WritingBounds) {
  const auto writing = static_cast<std::uint8_t>(TerminalPrompt::Writing);
  EXPECT_TRUE(TerminalStatus::decode(payload(writing, 1, 1)));
  EXPECT_TRUE(TerminalStatus::decode(payload(writing, 1024, 1024)));
  EXPECT_TRUE(TerminalStatus::decode(payload(writing, 1, 1024)));
  EXPECT_FALSE(TerminalStatus::decode(payload(writing, 0, 5)));      // steps count from 1
  EXPECT_FALSE(TerminalStatus::decode(payload(writing, 6, 5)));      // past the last
  EXPECT_FALSE(TerminalStatus::decode(payload(writing, 0, 0)));
  EXPECT_FALSE(TerminalStatus::decode(payload(writing, 1025, 1025)));  // a script has at most 1024 steps
  EXPECT_FALSE(TerminalStatus::decode(payload(writing, 1, 0xffff)));
  EXPECT_THROW((void)TerminalStatus::writing(3, 2).encode(), std::invalid_argument);
}

TEST(TerminalStatus, WrongRetailerPinBounds) {
  const auto wrong = static_cast<std::uint8_t>(TerminalPrompt::WrongRetailerPin);
  EXPECT_TRUE(TerminalStatus::decode(payload(wrong, 0, 0)));
  EXPECT_TRUE(TerminalStatus::decode(payload(wrong, 15, 0)));
  EXPECT_FALSE(TerminalStatus::decode(payload(wrong, 16, 0)));
  EXPECT_FALSE(TerminalStatus::decode(payload(wrong, 2, 3)));  // steps must be 0
  EXPECT_THROW((void)TerminalStatus::wrong_retailer_pin(16).encode(), std::invalid_argument);
}

TEST(TerminalStatus, OtherPromptsCarryNoNumbers) {
  for (const auto& status : one_of_each()) {
    if (status.prompt == TerminalPrompt::Writing || status.prompt == TerminalPrompt::WrongRetailerPin) continue;
    const auto raw = static_cast<std::uint8_t>(status.prompt);
    EXPECT_FALSE(TerminalStatus::decode(payload(raw, 1, 0))) << to_string(status.prompt);
    EXPECT_FALSE(TerminalStatus::decode(payload(raw, 0, 1))) << to_string(status.prompt);
    EXPECT_FALSE(TerminalStatus::decode(payload(raw, 1, 1))) << to_string(status.prompt);
    TerminalStatus with_step = status;
    with_step.step = 1;
    with_step.steps = 1;
    EXPECT_THROW((void)with_step.encode(), std::invalid_argument) << to_string(status.prompt);
  }
}
