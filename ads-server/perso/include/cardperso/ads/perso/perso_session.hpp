#pragma once
// The personalisation application of one established session, sans-I/O: it sits above
// proto::AdsHandshake, takes the plaintexts the core delivers and answers with messages for the
// adapter to seal (AdsHandshake::send) and, at the end, a request to end the session. Store and
// policy work goes through PersoServices; only the assessment, which may run an external command,
// is handed back to the adapter (AssessCustomer -> on_assessment) so it can run off the event loop.
//
// Per card (proto/PROTOCOL.md §Personalisation), any number of times in one session:
//   AwaitCustomer --C1--> [Assessing --on_assessment-->] C2 to the DTD, and on go to the STE
//   AwaitCard --P1--> refused: P4 Refused (STE, DTD), no APDU sent       --> AwaitCustomer
//                     else K1: what the terminal must show, and a challenge for the card --> AwaitCheck
//   AwaitCheck --K2--> cancelled on the keypad, or the card's proof missing/wrong: P4 Refused, audited,
//                      nothing written, no code has left the ADS                  --> AwaitCustomer
//                      else begin, reserve numbers, fresh Ki/OPc/issuer code/RAND, P2 --> AwaitResult
//   AwaitResult --P3--> completed and proven: record, P4 (STE, DTD), Receipt (DTD) --> AwaitCustomer
//                       stopped, pulled, refused code, proof mismatch: mark failed, P4 Failed --> AwaitCustomer
// A message that does not fit the state ends the session (EndSession). A session that ends while a
// script runs (Terminate, timeout, link lost: on_closed) leaves the card recorded failed, so no card
// stays in progress and no reserved number is lost.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cardperso/ads/perso/modification_request.hpp"
#include "cardperso/ads/perso/perso_services.hpp"
#include "cardperso/ads/perso/receipt.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/script_builder.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::ads {

// Seal this plaintext as `type` on `channel` (1: to the STE under SK_S, 2: to the DTD under SK_D).
struct SealMessage {
  proto::Channel channel = proto::Channel::DtdAds;
  proto::MessageType type = proto::MessageType::Decision;
  SecretBytes plaintext;  // P2 holds the opening code, the issuer code, Ki and OPc
};
// Run services.assess(details) (off the event loop if it may block) and pass the result to on_assessment.
struct AssessCustomer {
  policy::CustomerDetails details;
};
// End the session (AdsHandshake::terminate(code)); reason for the log.
struct EndSession {
  proto::ErrorCode code = proto::ErrorCode::None;
  std::string reason;
};
enum class LogLevel { Info, Warn, Error };
// A line for the server log; never holds a key, code, PIN or personal data beyond the customer's verdict.
struct LogLine {
  LogLevel level = LogLevel::Info;
  std::string text;
};
using PersoAction = std::variant<SealMessage, AssessCustomer, EndSession, LogLine>;
using PersoActions = std::vector<PersoAction>;

struct PersoSessionInfo {
  std::string retailer_serial;
  std::optional<std::int64_t> journal_id;  // the sessions-table row, recorded with decisions and cards
};

class PersoSession {
 public:
  enum class State { AwaitCustomer, Assessing, AwaitCard, AwaitCheck, AwaitResult, Ended };

  PersoSession(PersoServices& services, PersoSessionInfo info);

  // A plaintext the core delivered (Deliver). Echo and Terminate are not for this class.
  PersoActions on_message(proto::Channel channel, proto::MessageType type, ByteView plaintext);
  // The answer to AssessCustomer. Ignored unless an assessment is pending (the session may have ended).
  PersoActions on_assessment(const policy::Decision& decision);
  // The session is over (Terminate from either side, timeout, link lost, shutdown). A card whose
  // script was running is marked failed; nothing is sent.
  PersoActions on_closed(std::string_view why);

  State state() const { return state_; }
  std::size_t cards_done() const { return cards_done_; }

 private:
  // The configuration snapshot is taken at C1 and goes with the request to its card: a reload
  // meanwhile does not change the profile or values of a card already asked for.
  using ConfigSnapshot = std::shared_ptr<const PersoConfig>;
  struct Approval {
    proto::RequestKind kind = proto::RequestKind::NewCard;
    ConfigSnapshot config;
    std::int64_t decision_id = 0;
    policy::CustomerDetails details;          // NewCard
    std::optional<ModificationRequest> change;  // Modification
  };
  struct RunningCard {
    ConfigSnapshot config;  // the one the script was built with, and the record names
    std::string iccid;
    CardPurpose purpose = CardPurpose::NewCard;
    std::int64_t decision_id = 0;
    std::string customer_json;  // NewCard: canonical details, sealed with the subscriber
    std::string customer_name;
    std::string imsi, msisdn, spn, plmnsel;
    SecretBytes ki, opc, issuer_code;  // issuer_code: the new one the script writes, if any
    Bytes rand;
    std::vector<std::string> step_labels;
    std::optional<std::size_t> issuer_code_step;  // the step that writes the new issuer code
    OpeningCode opened_with = OpeningCode::Master;  // step 1's code (an Issuer code: the pending one)
    bool has_alternative = false;                   // step 1 may present the other code
    std::vector<WrittenFile> files;
  };

  PersoActions on_customer_details(ByteView plaintext);
  // The card the terminal was asked to check (K1), until its answer (K2).
  struct CardCheck {
    std::string iccid;
    Bytes expected_proof;  // empty: the card's batch has no card keys
  };

  PersoActions on_card_inserted(ByteView plaintext);
  PersoActions send_card_check(PersoActions out, const std::string& iccid, const CardOpening& opening);
  PersoActions on_card_check_answer(ByteView plaintext);
  PersoActions check_refused(PersoActions out, const std::string& iccid, std::string_view event,
                             const std::string& detail, const std::string& reason);
  PersoActions start_card(PersoActions out, const std::string& iccid);
  PersoActions on_script_result(ByteView plaintext);
  PersoActions decide(PersoActions out, proto::RequestKind kind, bool go, std::vector<std::string> reasons,
                      std::optional<Approval> approval);
  PersoActions refuse_card(PersoActions out, const std::string& iccid, const std::string& reason);
  std::optional<PersoActions> reissue(const std::string& iccid, const Approval& approval);
  void send_receipt(PersoActions& out, const ReceiptData& receipt);
  PersoActions prepare_new_card(PersoActions out, const std::string& iccid, const CardOpening& opening);
  PersoActions prepare_modification(PersoActions out, const std::string& iccid, const CardOpening& opening);
  PersoActions send_script(PersoActions out, RunningCard card, const perso::PersoValues& values);
  PersoActions card_failed(PersoActions out, std::optional<std::size_t> step, const std::string& reason,
                           bool code_refused, std::optional<CodeOnCard> code_on_card, bool nothing_written = false);
  static std::optional<CodeOnCard> code_after(const RunningCard& card, const perso::ScriptResult& result);
  PersoActions card_recorded(PersoActions out, int version);
  PersoActions end(PersoActions out, proto::ErrorCode code, std::string reason);
  static std::string step_name_of(const RunningCard& card, std::optional<std::size_t> step);
  void done(PersoActions& out, proto::PersoOutcome outcome, const std::string& iccid, const std::string& msisdn,
            const std::string& reason);

  PersoServices& services_;
  PersoSessionInfo info_;
  State state_ = State::AwaitCustomer;
  std::optional<Approval> approval_;
  std::optional<CardCheck> check_;
  std::optional<RunningCard> card_;
  std::size_t cards_done_ = 0;
};

// Printable ASCII only, cut to `max` bytes: texts from the store or a peer that go into a reason field.
std::string printable_text(std::string_view text, std::size_t max);

}  // namespace cardperso::ads
