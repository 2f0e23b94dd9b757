#pragma once
// The DTD's side of personalisation, sans-I/O: the retailer's queue of requests (new customers and
// modifications, in order) played over channel 2 of a session. Opened plaintexts in, plaintexts to
// seal out; receipts are printed to a stream and written to the receipt directory.
//
//   session up -> C1 (request i) -> C2: go -> wait P4 (and, after a success, the Receipt) -> i+1
//                                       no-go -> i+1
//   after the last request -> Terminate (the ADS ends the session).
// A session that ends half-way leaves request i current: the next session sends it again.
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/dtd/customer_input.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::dtd {

// How the ADS ended a request: Personalised and Modified are a card written (Done), Refused a no-go
// Decision or a card refused after it (cancelled on the keypad, proof mismatch), Failed a card the
// script failed on.
enum class RequestOutcome { Personalised, Modified, Refused, Failed };
std::string_view to_string(RequestOutcome outcome);

struct DeskStep {
  struct Send {
    proto::MessageType type;
    Bytes plaintext;
  };
  std::vector<Send> send;  // seal on channel 2, in order
  bool terminate = false;  // every request is served: end the session
  std::vector<std::string> receipts_written;
  std::optional<RequestOutcome> served;  // the current request got its outcome in this step
};

class CustomerDesk {
 public:
  enum class State { Idle, AwaitDecision, AwaitDone, AwaitReceipt, Finished };

  // receipt_dir empty: receipts only go to `terminal`.
  CustomerDesk(std::vector<CustomerRequest> requests, std::string receipt_dir, std::ostream& terminal);

  // The DTD holds SK_D: send the current request (nothing when the queue is empty from the start).
  DeskStep on_established();
  // An opened channel-2 message (Decision, Done, Receipt; others are logged and ignored).
  DeskStep on_message(proto::MessageType type, ByteView plaintext);
  // The session ended (by either side): back to Idle, the current request stays current.
  void on_session_ended();

  State state() const { return state_; }
  bool has_requests() const { return !requests_.empty(); }
  bool finished() const { return state_ == State::Finished; }
  std::size_t current() const { return index_; }
  std::size_t personalised() const { return personalised_; }
  std::size_t failed() const { return failed_; }
  std::size_t refused() const { return refused_; }
  // Requests without an outcome yet, the one in progress included.
  std::size_t waiting() const { return requests_.size() - (personalised_ + failed_ + refused_); }

 private:
  DeskStep send_current();
  DeskStep next();
  DeskStep on_decision(ByteView plaintext);
  DeskStep on_done(ByteView plaintext);
  DeskStep on_receipt(ByteView plaintext);

  std::vector<CustomerRequest> requests_;
  std::string receipt_dir_;
  std::ostream& terminal_;
  std::size_t index_ = 0;
  State state_ = State::Idle;
  std::string last_iccid_;
  std::size_t personalised_ = 0, failed_ = 0, refused_ = 0;
};

}  // namespace cardperso::dtd
