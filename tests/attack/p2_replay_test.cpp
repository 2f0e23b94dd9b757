// Attack: replay a recorded personalisation to a second card (docs/security.md). A hostile relay
// between DTD and ADS passes a first session through, in which card A is personalised, and records
// its sealed channel-1 P1 CardInserted, P2 Script, P3 ScriptResult and P4 Done. In a second session
// (new DTD connection, new session keys) with a second blank card B of the same batch, when the STE
// sends its P1 for B the relay drops it and plays the recorded ones instead: P2 and P4 to the STE
// (card A's script: its opening code, issuer code, Ki and OPc), P1 and P3 to the ADS; verbatim, or
// with the session id rewritten to the new session's. Both ends must refuse them (the session keys
// and T4 differ, so nothing opens), card B must be unchanged byte for byte with only its ICCID read,
// no number may be allocated to it, and the database must be unchanged but for the session row, the
// audit log and the go decision of the second customer (taken before any card is involved).
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "relay.hpp"
#include "security_row.hpp"
#include "personalisation_fixture.hpp"

using namespace cardperso;
using namespace cardperso::attack;
using namespace cardperso::e2e;
using namespace std::chrono_literals;

namespace {

constexpr std::uint8_t kP1 = 0x23, kP2 = 0x24, kP3 = 0x25, kP4 = 0x26;

class P2Replay : public PersonalisationFixture {
 protected:
  void TearDown() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    write_security_row(SecurityRow{attack_, "DTD↔ADS", expected_, observed_},
                       std::string(info->test_suite_name()) + info->name(), HasFailure());
    relay_.reset();
    PersonalisationFixture::TearDown();
  }

  // The relay: connection 0 passes and is recorded; on connection 1 the STE's P1 is replaced by the
  // recorded P1..P4 (runs on the relay's thread).
  void on_frame(const RelayedFrame& f, RelayOutput& out) {
    std::lock_guard lock(mutex_);
    const bool perso = f.channel() == 1 && f.sealed() && f.type() >= kP1 && f.type() <= kP4;
    if (f.connection == 0) {
      if (perso && recorded_.count(f.type()) == 0) recorded_.emplace(f.type(), f);
      out.forward(f.bytes);
      return;
    }
    if (!(perso && f.type() == kP1 && f.direction == Direction::ToTarget) || replayed_) {
      out.forward(f.bytes);
      return;
    }
    replayed_ = true;
    new_session_ = f.session();
    for (std::uint8_t type : {kP1, kP2, kP3, kP4}) {
      auto it = recorded_.find(type);
      if (it == recorded_.end()) continue;
      Bytes bytes = it->second.bytes;
      if (rewrite_)  // header bytes 8..11: the session id, big-endian (proto/PROTOCOL.md §2)
        for (int i = 0; i < 4; ++i) bytes[8 + i] = static_cast<std::uint8_t>(new_session_ >> (24 - 8 * i));
      out.send(it->second.direction, std::move(bytes));
      ++sent_;
    }
  }

  // DTD (through the relay) with one customer, the retailer card in, the STE with the keypad.
  void start_session(int ads_link_port, const std::string& customer, bool first) {
    start_visit(ads_link_port, customer, first);
  }

  std::map<std::string, std::vector<DbRow>> tables_but(const std::set<std::string>& excluded) {
    std::map<std::string, std::vector<DbRow>> out;
    for (const auto& t : query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
      if (t[0] && excluded.count(*t[0]) == 0) out[*t[0]] = query("SELECT * FROM " + *t[0]);
    return out;
  }

  void run(bool rewrite) {
    rewrite_ = rewrite;
    attack_ = std::string("replay a recorded personalisation (P1–P4 of card A) in a new session with a second blank "
                          "card B, ") + (rewrite ? "session id rewritten to the new one" : "verbatim");
    expected_ = "neither end opens a replayed frame; the session ends, not completed; card B unchanged (only its "
                "ICCID read), no number allocated to it, DB unchanged but sessions/audit/the new go decision";
    const auto iccids = standard_stock(2);
    ASSERT_EQ(iccids.size(), 2u);
    const std::string card_a = card_image("cards", iccids[0]), card_b = card_image("cards", iccids[1]);
    const int ads_port = start_ads({"--profile", profile_path_});
    ASSERT_GT(ads_port, 0);
    relay_ = std::make_unique<FrameProxy>(ads_port,
                                            [this](const RelayedFrame& f, RelayOutput& out) { on_frame(f, out); });

    // Session 1: card A personalised through the relay, which records P1..P4.
    start_session(relay_->port(), customer_file("Alice Example", "1990-02-28"), true);
    ASSERT_FALSE(HasFailure());
    remove_retailer_card();
    auto* sim_a = insert_customer_card(card_a, 1);
    ASSERT_NE(sim_a, nullptr);
    ASSERT_TRUE(wait_display("Card personalised: MSISDN \\d+$", 60000ms)) << display_text();
    pull(sim_a);  // the STE ends the session once the customer card is out
    expect_session_completed();
    ASSERT_FALSE(HasFailure());
    {
      std::lock_guard lock(mutex_);
      ASSERT_EQ(recorded_.size(), 4u) << "the relay did not see P1..P4 of the first session";
    }
    observe("recorded session completed (card A personalised, legitimately)");

    // Session 2: card B, the recorded frames instead of its P1.
    const std::string b_before = image_text(card_b);
    const auto tables_before = tables_but({"sessions", "audit_log", "decisions"});
    const auto decisions_before = count("SELECT count(*) FROM decisions");
    const std::size_t sessions_before = sessions().size();
    start_session(relay_->port(), customer_file("Bob Example", "1985-07-14"), false);
    ASSERT_FALSE(HasFailure());
    remove_retailer_card();
    auto* sim_b = insert_customer_card(card_b, 1);
    ASSERT_NE(sim_b, nullptr);
    const auto ste_exit = ste().wait_exit(90000ms);  // a refusal, or the STE's own timeout
    {
      std::lock_guard lock(mutex_);
      ASSERT_TRUE(replayed_) << "the STE never sent P1 for card B";
      observe("relay: dropped the STE's P1 for card B; sent the recorded P1, P3 to the ADS and P2, P4 to the STE" +
              std::string(rewrite ? ", session id rewritten to " + std::to_string(new_session_) : ", verbatim") +
              " (" + std::to_string(sent_) + " frames)");
    }
    EXPECT_EQ(ste_exit, 2) << display_text();
    std::string refusal;
    for (const auto& t : display())
      if (t.rfind("Refused: ", 0) == 0) refusal = t;
    EXPECT_FALSE(refusal.empty()) << "the STE did not show a refusal\n" << display_text();
    EXPECT_FALSE(displayed("Personalising card")) << display_text();
    observe("STE exit " + (ste_exit ? std::to_string(*ste_exit) : std::string("(running)")) + ", shows `" + refusal + "`");

    // The ADS: the session ends, not completed; its reason logged.
    EXPECT_TRUE(wait_no_open_session(15s));
    const auto rows = sessions();
    ASSERT_EQ(rows.size(), sessions_before + 1);
    EXPECT_NE(rows.back().outcome.value_or("(open)"), "completed") << rows.back().reason;
    std::uint32_t attacked = 0;
    {
      std::lock_guard lock(mutex_);
      attacked = new_session_;  // the protocol session id (the ADS log's), from the dropped P1
    }
    const std::string id = std::to_string(attacked);
    auto ended = wait_for_log(ads_log_, std::regex("session " + id + " (ended|refused): ([^\n]*)"), 5s);
    EXPECT_TRUE(ended) << "the ADS did not log the end of session " << id << "\n" << ads_log();
    if (ended) observe("ADS: `session " + id + " " + ended->at(1) + ": " + ended->at(2) + "`");
    observe("session rows: " + rows.back().outcome.value_or("open"));

    // Card B: byte for byte as it was, and the STE only read its ICCID (tap connection 2 = card B).
    const bool b_same = image_text(card_b) == b_before;
    EXPECT_TRUE(b_same) << "card B changed";
    EXPECT_TRUE(only_iccid_read(apdus_of(2))) << "card B got more than the ICCID read";
    EXPECT_FALSE(apdus_of(2).empty()) << "the tap saw nothing of card B";
    // No number, no state for card B; the database as it was but for sessions, audit and the decision.
    const CardRow b_row = card_row(iccids[1]);
    EXPECT_EQ(b_row.state, "blank");
    EXPECT_EQ(b_row.attempts, 0);
    EXPECT_EQ(count("SELECT count(*) FROM number_allocations WHERE iccid = ?1", {iccids[1]}), 0);
    EXPECT_EQ(count("SELECT count(*) FROM decisions"), decisions_before + 1) << "the second customer's decision";
    const bool db_same = tables_but({"sessions", "audit_log", "decisions"}) == tables_before;
    EXPECT_TRUE(db_same) << "a table other than sessions/audit_log/decisions changed";
    observe(std::string(b_same ? "card B unchanged" : "card B CHANGED") + ", only its ICCID read; " +
            (db_same ? "DB unchanged" : "DB CHANGED") + " (sessions, audit, the go decision aside); card B " +
            b_row.state + ", no number allocated");
    expect_no_number_lost();
  }

  std::unique_ptr<FrameProxy> relay_;
  std::mutex mutex_;
  std::map<std::uint8_t, RelayedFrame> recorded_;
  bool rewrite_ = false, replayed_ = false;
  std::uint32_t new_session_ = 0;
  int sent_ = 0;
  std::string attack_, expected_;
  std::vector<std::string> observed_;
  void observe(std::string what) { observed_.push_back(std::move(what)); }
};

}  // namespace

TEST_F(P2Replay, Verbatim) { run(false); }
TEST_F(P2Replay, UnderTheNewSessionId) { run(true); }
