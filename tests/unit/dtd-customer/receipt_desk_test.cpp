#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cardperso/dtd/customer_desk.hpp"
#include "cardperso/dtd/receipt_printer.hpp"
#include "cardperso/proto/perso_messages.hpp"
#include "desk_message_builders.hpp"

using namespace cardperso;
using namespace cardperso::dtd;
using proto::MessageType;
using test::decision;
using test::done;
using test::receipt;

namespace {

const char* const kReceipt =
    R"({"iccid": "8988211000000000011", "msisdn": "+41791234567", "customer": {"name": "Alice Example"},
        "retailer": "1001", "date": "2026-11-27", "services": ["voice", "sms"],
        "issuer_code": "a1b2c3d4e5f60718", "ki": "465b5ce8b199b49faa5f0a2ee238a6bc", "pin": "1234",
        "customer_puk": "12345678", "shipping_note": "none"})";

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("dtd-receipts-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}


std::vector<CustomerRequest> requests(int n) {
  std::vector<CustomerRequest> out;
  for (int i = 0; i < n; ++i)
    out.push_back({proto::RequestKind::NewCard, "{\"name\":\"C" + std::to_string(i) + "\"}", "c" + std::to_string(i)});
  return out;
}

std::string c1_json(const DeskStep& s) {
  EXPECT_EQ(s.send.size(), 1u);
  if (s.send.empty()) return {};
  EXPECT_EQ(s.send[0].type, MessageType::CustomerDetails);
  auto c1 = proto::CustomerDetailsMsg::decode(s.send[0].plaintext);
  EXPECT_TRUE(c1);
  return c1 ? c1->json : std::string();
}

}  // namespace

TEST(ReceiptPrinter, PrintsNoSecret) {
  auto text = render_receipt(kReceipt);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_NE(text->find("Iccid: 8988211000000000011"), std::string::npos) << *text;
  EXPECT_NE(text->find("Msisdn: +41791234567"), std::string::npos) << *text;
  EXPECT_NE(text->find("Customer / Name: Alice Example"), std::string::npos) << *text;
  EXPECT_NE(text->find("Services: voice, sms"), std::string::npos) << *text;
  EXPECT_NE(text->find("Shipping note: none"), std::string::npos) << *text;  // "pin" inside a word is no secret
  for (const char* secret : {"a1b2c3d4", "465b5ce8", "1234\n", "12345678", "Issuer code", "Ki:", "Pin:", "puk"})
    EXPECT_EQ(text->find(secret), std::string::npos) << secret << " in\n" << *text;
  EXPECT_TRUE(is_secret_field("customer_pin"));
  EXPECT_TRUE(is_secret_field("OPc"));
  EXPECT_TRUE(is_secret_field("session_key"));
  EXPECT_FALSE(is_secret_field("msisdn"));
  EXPECT_FALSE(is_secret_field("spinner"));
  EXPECT_FALSE(render_receipt("[1,2]"));
  EXPECT_FALSE(render_receipt("not json"));
}

TEST(ReceiptPrinter, WritesOneFilePerCard) {
  TempDir dir;
  auto path = write_receipt((dir.path / "sub").string(), "8988211000000000011", "hello\n");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, (dir.path / "sub" / "receipt-8988211000000000011.txt").string());
  EXPECT_EQ(slurp(*path), "hello\n");
  auto evil = write_receipt(dir.path.string(), "../../etc/passwd", "x");
  ASSERT_FALSE(evil);
  EXPECT_NE(evil.error().message.find("1 to 20 digits"), std::string::npos);
  EXPECT_FALSE(write_receipt(dir.path.string(), "", "x"));
}

TEST(CustomerDesk, SeveralCardsThenTerminate) {
  TempDir dir;
  std::ostringstream terminal;
  CustomerDesk desk(requests(3), dir.path.string(), terminal);
  EXPECT_EQ(c1_json(desk.on_established()), "{\"name\":\"C0\"}");
  EXPECT_EQ(desk.state(), CustomerDesk::State::AwaitDecision);
  EXPECT_TRUE(desk.on_message(MessageType::Decision, decision(true)).send.empty());
  EXPECT_TRUE(desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011",
                                                      "+41791234567"))
                  .send.empty());
  EXPECT_EQ(desk.state(), CustomerDesk::State::AwaitReceipt);
  auto after_receipt = desk.on_message(MessageType::Receipt, receipt(kReceipt));
  ASSERT_EQ(after_receipt.receipts_written.size(), 1u);
  const auto file = slurp(after_receipt.receipts_written[0]);
  EXPECT_NE(file.find("Msisdn: +41791234567"), std::string::npos);
  EXPECT_EQ(file.find("a1b2c3d4"), std::string::npos);
  EXPECT_NE(terminal.str().find("Msisdn: +41791234567"), std::string::npos);
  EXPECT_EQ(c1_json(after_receipt), "{\"name\":\"C1\"}");

  // Second customer refused by the assessment: next request at once.
  auto after_nogo = desk.on_message(MessageType::Decision, decision(false, "customer under 16"));
  EXPECT_EQ(c1_json(after_nogo), "{\"name\":\"C2\"}");
  EXPECT_NE(terminal.str().find("Customer refused: customer under 16"), std::string::npos);

  // Third: the card fails; no receipt is waited for, and the session ends.
  desk.on_message(MessageType::Decision, decision(true));
  auto last = desk.on_message(MessageType::Done, done(proto::PersoOutcome::Failed, "8988211000000000029", "",
                                                       "card removed at step 11"));
  EXPECT_TRUE(last.send.empty());
  EXPECT_TRUE(last.terminate);
  EXPECT_TRUE(desk.finished());
  EXPECT_EQ(desk.personalised(), 1u);
  EXPECT_EQ(desk.failed(), 1u);
  EXPECT_EQ(desk.refused(), 1u);
  // A later session sends nothing more.
  EXPECT_TRUE(desk.on_established().send.empty());
}

TEST(CustomerDesk, AnInterruptedRequestIsSentAgainInTheNextSession) {
  std::ostringstream terminal;
  CustomerDesk desk(requests(2), "", terminal);
  EXPECT_EQ(c1_json(desk.on_established()), "{\"name\":\"C0\"}");
  desk.on_message(MessageType::Decision, decision(true));
  desk.on_session_ended();
  EXPECT_EQ(desk.state(), CustomerDesk::State::Idle);
  EXPECT_EQ(c1_json(desk.on_established()), "{\"name\":\"C0\"}");
  // Messages out of turn are ignored, not acted on.
  EXPECT_TRUE(desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011", "+41"))
                  .send.empty());
  EXPECT_EQ(desk.state(), CustomerDesk::State::AwaitDecision);
}

TEST(CustomerDesk, NoRequestsMeansRelayOnly) {
  std::ostringstream terminal;
  CustomerDesk desk({}, "", terminal);
  auto step = desk.on_established();
  EXPECT_TRUE(step.send.empty());
  EXPECT_FALSE(step.terminate);
  EXPECT_FALSE(desk.has_requests());
}

// What dtd-agent's metrics count: each request's outcome once, in the step that decided it, and the
// requests still without one.
TEST(CustomerDesk, EachRequestReportsItsOutcomeOnceAndTheWaitingCountFalls) {
  std::ostringstream terminal;
  CustomerDesk desk(requests(4), "", terminal);
  EXPECT_EQ(desk.waiting(), 4u);
  auto first = desk.on_established();
  EXPECT_FALSE(first.served);
  EXPECT_EQ(desk.waiting(), 4u);  // the one in progress is still waiting
  EXPECT_FALSE(desk.on_message(MessageType::Decision, decision(true)).served);
  auto personalised = desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011", "+41"));
  EXPECT_EQ(personalised.served, RequestOutcome::Personalised);
  EXPECT_EQ(desk.waiting(), 3u);  // served, though its receipt has not come yet
  auto after_receipt = desk.on_message(MessageType::Receipt, receipt(kReceipt));
  EXPECT_FALSE(after_receipt.served);  // the receipt ends nothing: the outcome was reported with Done
  EXPECT_EQ(c1_json(after_receipt), "{\"name\":\"C1\"}");

  auto nogo = desk.on_message(MessageType::Decision, decision(false, "customer under 16"));
  EXPECT_EQ(nogo.served, RequestOutcome::Refused);
  EXPECT_EQ(c1_json(nogo), "{\"name\":\"C2\"}");  // the next request goes in the same step
  EXPECT_EQ(desk.waiting(), 2u);

  desk.on_message(MessageType::Decision, decision(true));
  auto refused = desk.on_message(MessageType::Done, done(proto::PersoOutcome::Refused, "8988211000000000029", "", "cancelled"));
  EXPECT_EQ(refused.served, RequestOutcome::Refused);
  EXPECT_EQ(desk.waiting(), 1u);

  desk.on_message(MessageType::Decision, decision(true));
  auto failed = desk.on_message(MessageType::Done, done(proto::PersoOutcome::Failed, "8988211000000000037", "", "pulled"));
  EXPECT_EQ(failed.served, RequestOutcome::Failed);
  EXPECT_TRUE(failed.terminate);
  EXPECT_EQ(desk.waiting(), 0u);
}

TEST(CustomerDesk, AModificationReportsModified) {
  std::ostringstream terminal;
  std::vector<CustomerRequest> one = {{proto::RequestKind::Modification, "{\"iccid\":\"8988211000000000011\"}", "m"}};
  CustomerDesk desk(one, "", terminal);
  desk.on_established();
  desk.on_message(MessageType::Decision, decision(true));
  auto updated = desk.on_message(MessageType::Done, done(proto::PersoOutcome::Modified, "8988211000000000011", "+41"));
  EXPECT_EQ(updated.served, RequestOutcome::Modified);
  EXPECT_EQ(to_string(RequestOutcome::Modified), "modified");
  EXPECT_EQ(desk.waiting(), 0u);
}

TEST(CustomerDesk, AnInterruptedRequestStaysWaiting) {
  std::ostringstream terminal;
  CustomerDesk desk(requests(1), "", terminal);
  desk.on_established();
  desk.on_message(MessageType::Decision, decision(true));
  desk.on_session_ended();
  EXPECT_EQ(desk.waiting(), 1u);
  EXPECT_FALSE(desk.on_established().served);
}

TEST(CustomerDesk, OpenModeWaitsForTheNextCustomerAndEndsOnlyWhenAsked) {
  std::ostringstream terminal;
  CustomerDesk desk(requests(1), "", terminal);
  desk.set_open(true);
  EXPECT_EQ(c1_json(desk.on_established()), "{\"name\":\"C0\"}");
  desk.on_message(MessageType::Decision, decision(true));
  desk.on_message(MessageType::Done, done(proto::PersoOutcome::Personalised, "8988211000000000011", "41790000001"));
  const auto after = desk.on_message(MessageType::Receipt, receipt(kReceipt));
  EXPECT_FALSE(after.terminate);  // the queue is empty, the desk stays open
  EXPECT_TRUE(after.send.empty());
  EXPECT_EQ(desk.state(), CustomerDesk::State::Idle);
  EXPECT_FALSE(desk.finished());
  // A request enqueued while the session is up and the desk idle goes out at once.
  const auto sent = desk.enqueue({proto::RequestKind::NewCard, "{\"name\":\"C1\"}", "console"});
  EXPECT_EQ(c1_json(sent), "{\"name\":\"C1\"}");
  EXPECT_EQ(desk.size(), 2u);
  EXPECT_EQ(desk.waiting(), 1u);
  // "end session" while it is in progress: after its outcome.
  EXPECT_FALSE(desk.end_session().terminate);
  const auto nogo = desk.on_message(MessageType::Decision, decision(false, "customer is under 18"));
  EXPECT_TRUE(nogo.terminate);
  EXPECT_EQ(nogo.served, RequestOutcome::Refused);
  desk.on_session_ended();
  // Nothing in progress and no session: a request waits for the next session.
  EXPECT_TRUE(desk.enqueue({proto::RequestKind::NewCard, "{\"name\":\"C2\"}", "console"}).send.empty());
  EXPECT_TRUE(desk.end_session().send.empty());
  EXPECT_EQ(c1_json(desk.on_established()), "{\"name\":\"C2\"}");
}

TEST(CustomerDesk, EndSessionWhenIdleTerminatesAtOnce) {
  std::ostringstream terminal;
  CustomerDesk desk({}, "", terminal);
  desk.set_open(true);
  EXPECT_FALSE(desk.end_session().terminate);  // no session: nothing to end
  EXPECT_TRUE(desk.on_established().send.empty());
  const auto end = desk.end_session();
  EXPECT_TRUE(end.terminate);
  EXPECT_TRUE(end.ended_by_retailer);
}
