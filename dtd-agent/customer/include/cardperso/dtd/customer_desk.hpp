#pragma once
// The DTD's side of personalisation, sans-I/O: the retailer's queue of requests (new customers and
// modifications, in order) played over channel 2 of a session. Opened plaintexts in, plaintexts to
// seal out; receipts are printed to a stream and written to the receipt directory.
//
//   session up -> C1 (request i) -> C2: go -> wait P4 (and, after a success, the Receipt) -> i+1
//                                       no-go -> i+1
//   after the last request -> Terminate (the ADS ends the session).
// A session that ends half-way leaves request i current: the next session sends it again.
//
// Open mode (the retailer's web console): requests are also enqueued while the session runs, and an
// empty queue does not end the session; end_session() does, once no request is in progress (requests
// still waiting then are sent in the next session). Requests are numbered from 1 in queue order.
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
  bool ended_by_retailer = false;  // the Terminate is the retailer's "end session" (open mode)
  std::vector<std::string> receipts_written;
  std::optional<RequestOutcome> served;  // the current request got its outcome in this step
};

// How a request ended, with what the ADS said about the card (empty when it did not say).
struct RequestResult {
  RequestOutcome outcome = RequestOutcome::Failed;
  std::string iccid;
  std::string msisdn;
  std::string reason;
};

// What the desk tells an observer (the console's model), as it happens, on the desk's thread.
class DeskObserver {
 public:
  virtual ~DeskObserver() = default;
  virtual void request_queued(std::size_t id, const CustomerRequest& request) = 0;
  virtual void request_sent(std::size_t id) = 0;
  // The ADS's Decision; reasons as the ADS wrote them ("; "-separated). A no-go ends the request.
  virtual void decided(std::size_t id, bool go, const std::string& reasons) = 0;
  // A go request's Done.
  virtual void finished(std::size_t id, const RequestResult& result) = 0;
  // The receipt of request `id`'s card (its JSON as the ADS sent it).
  virtual void receipt(std::size_t id, const std::string& receipt_json) = 0;
  // The session ended while request `id` was sent and not finished: it stays current and goes again.
  virtual void interrupted(std::size_t id) = 0;
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

  // Open mode: see above. Set before the first session.
  void set_open(bool open) { open_ = open; }
  bool open() const { return open_; }
  // Queues a request (numbered size() afterwards); sent at once when a session is up and the desk idle.
  DeskStep enqueue(CustomerRequest request);
  // The retailer is done: Terminate now when idle, else after the request in progress.
  DeskStep end_session();
  // Reports every request queued so far, then what happens next. Null: none. Must outlive the desk's use.
  void set_observer(DeskObserver* observer);
  std::size_t size() const { return requests_.size(); }

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
  bool open_ = false;
  bool session_ = false;        // a session is established (between on_established and on_session_ended)
  bool end_requested_ = false;  // end_session() while a request was in progress
  std::size_t receipt_for_ = 0;  // the request whose card was last written (its receipt follows)
  DeskObserver* observer_ = nullptr;
};

}  // namespace cardperso::dtd
