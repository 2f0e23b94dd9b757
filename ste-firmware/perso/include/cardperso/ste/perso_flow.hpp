#pragma once
// The STE's part of customer card personalisation, after the secure session is up
// (proto/perso_messages.hpp, DESIGN flow steps 7-11). Messages in (opened channel-1 plaintexts),
// messages out (plaintexts for the adapter to seal on channel 1); the card slot, keypad and display
// are called directly (they block, like the sign-on).
//
// Per card: C2 go -> "Remove retailer card" (or the previous customer card) -> "Insert customer
// card" -> P1 (ICCID, ATR) -> K1: the card answers the ADS's challenge (CARD PROOF), the display
// shows what the ADS will write (customer, ID, card; or the changes) and the clerk presses OK or
// Cancel -> K2 -> P2 script -> customer PIN (twice) and PUK on the keypad -> the script runs once,
// stopping at the first unexpected status word -> P3 -> P4 shown -> "Remove customer card" -> next
// C2. Each prompt on the display is also reported as a code (StatusReporter, proto::TerminalStatus)
// for the shop PC's console: `writing` k of n for each script step, `ready` whenever the flow waits
// for the shop's next customer. No APDU reaches a customer card before a C2 go, and no write before the clerk's OK on this
// terminal's own keypad: the shop PC cannot choose what the display shows. The PIN, the PUK and the
// script's APDUs are never logged or shown.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/perso/script.hpp"
#include "cardperso/perso/script_executor.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/proto/perso_messages.hpp"
#include "cardperso/ste/customer_card.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/keypad.hpp"
#include "cardperso/ste/status_reporter.hpp"

namespace cardperso::ste {

struct PersoFlowOptions {
  std::chrono::milliseconds card_timeout{60'000};  // each wait for a card to go or come
  int pin_attempts = 3;                            // PIN typed twice differently this often: abort the card
  bool retailer_card_in_reader = true;             // the first C2 go asks for it to be removed
};

// A plaintext to seal on channel 1 (P3 holds status words only, but the adapter treats all alike).
struct OutgoingMessage {
  proto::MessageType type = proto::MessageType::CardInserted;
  SecretBytes plaintext;
};

struct FlowStep {
  std::vector<OutgoingMessage> send;
  // Set when the session must end: the display already shows why. `refusal` is the short reason
  // for "Refused: <reason>", `detail` for the log, `code` for the Terminate.
  bool end = false;
  std::string refusal;
  std::string detail;
  proto::ErrorCode code = proto::ErrorCode::None;
};

class CustomerCardFlow {
 public:
  enum class State { AwaitDecision, AwaitCheck, AwaitScript, AwaitDone };

  CustomerCardFlow(CardSlot& slot, Keypad& keypad, Display& display, PersoFlowOptions options = {});
  // The same, reporting each prompt it shows to `status` (which must outlive the flow).
  CustomerCardFlow(CardSlot& slot, Keypad& keypad, Display& display, StatusReporter& status,
                   PersoFlowOptions options = {});

  // The session is up and no card job is open: the terminal waits for the shop's next customer
  // (reports `ready`). The flow does this itself after each card and after a no-go.
  void await_customer();

  // One opened channel-1 message from the ADS (not Terminate: the session core handles that).
  FlowStep on_message(proto::MessageType type, ByteView plaintext);

  State state() const { return state_; }
  // No card job open: the terminal waits for the shop's next customer (no response timeout applies).
  bool idle() const { return state_ == State::AwaitDecision; }
  std::size_t cards_done() const { return cards_done_; }
  const std::string& current_iccid() const { return iccid_; }

 private:
  FlowStep on_decision(ByteView plaintext);
  FlowStep on_check(ByteView plaintext);
  FlowStep on_script(ByteView plaintext);
  FlowStep on_done(ByteView plaintext);
  FlowStep end_session(std::string refusal, std::string detail, proto::ErrorCode code);
  // Shows `line` and reports the prompt it stands for.
  void show(std::string_view line, const proto::TerminalStatus& status);
  FlowStep result_step(const perso::ScriptResult& result);
  // Keypad entries for the script's prompts; an error = abort the card before any APDU.
  Result<perso::KeypadEntries> read_entries(const perso::Script& script);

  CardSlot& slot_;
  Keypad& keypad_;
  Display& display_;
  StatusReporter& status_;
  PersoFlowOptions options_;
  State state_ = State::AwaitDecision;
  bool retailer_card_in_reader_;
  proto::RequestKind kind_ = proto::RequestKind::NewCard;
  std::string iccid_;
  std::size_t cards_done_ = 0;
};

}  // namespace cardperso::ste
