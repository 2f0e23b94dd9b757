#pragma once
// One session of one simulated shop, sans-I/O: the STE core (SteHandshake + the terminal's
// CustomerCardFlow over an in-memory card slot) and the DTD relay core wired together in memory
// (cardperso/testing/counter_cores.hpp), as ste-firmware and dtd-agent wire them over their serial link. Frames from the ADS go in; frames
// for the ADS come out. The retailer keys are read from the shop's retailer SimCard (VERIFY CHV1,
// READ key file) when the session starts, as at card insertion.
//
// Handshake mode: H1/H2, H3/H4, then the DTD's Terminate (the ADS answers with Terminate on
// channel 1, which ends the STE side). Personalise mode: after the handshake, per card C1 (DTD) ->
// C2 (both), P1 -> P2, P3 -> P4 (both) + Receipt, then the Terminate.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/cardsim/sim_card.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/proto/dtd_relay.hpp"
#include "cardperso/proto/ste_handshake.hpp"
#include "cardperso/testing/counter_cores.hpp"

namespace cardperso::bench {

// Hands out the next blank SIM of the shop's stock (nullopt when it is used up).
using BlankCardSource = std::function<std::optional<cardsim::SimCard>()>;
// Takes back a card the terminal is done with (tests/crash keeps every card, as a shop keeps the
// physical ones whatever happened to the ADS).
using CardKeeper = std::function<void(cardsim::SimCard)>;

struct SessionPlan {
  std::size_t cards = 0;  // 0: handshake only
  std::string retailer_pin;
  std::string customer_tag;  // makes the customer details of this session distinct
};

class ShopSession {
 public:
  // retailer_card and dtd belong to the shop and outlive the session.
  ShopSession(SessionPlan plan, cardsim::SimCard& retailer_card, proto::DtdRelay& dtd, BlankCardSource blanks);
  ~ShopSession();
  ShopSession(const ShopSession&) = delete;
  ShopSession& operator=(const ShopSession&) = delete;

  // Optional, before start(): each inserted card is handed to `keeper` when the next one is inserted
  // and when the session ends (also when it fails half-way). Without it the cards are dropped.
  void keep_cards(CardKeeper keeper);

  // Signs on with the retailer card and starts the handshake. Frames for the ADS in out().
  void start(proto::TimePoint now);
  // A frame read from the ADS link.
  void on_ads_frame(proto::Frame frame, proto::TimePoint now);

  // Frames to write to the ADS, in order; the caller takes them.
  std::vector<proto::Frame>& out() { return out_; }
  bool finished() const { return finished_ || failed(); }
  bool failed() const { return error_.has_value(); }
  // "<kind>: <detail>"; kind is one short word for the error table.
  const std::optional<std::string>& error() const { return error_; }
  const std::string& error_kind() const { return error_kind_; }

  std::size_t cards_done() const { return cards_done_; }
  // When each card's C1 went out and its Receipt came back.
  const std::vector<std::pair<proto::TimePoint, proto::TimePoint>>& card_times() const { return card_times_; }
  std::size_t apdus_to_customer_cards() const;
  // When both the STE and the DTD had the session established.
  const std::optional<proto::TimePoint>& established_at() const { return established_at_; }

 private:
  struct Terminal;

  cardperso::testing::CounterHooks counter_hooks();
  // What the STE core (from Peer::Ste) or the DTD core asked for besides their frames.
  void on_action(proto::Peer from, proto::Action& action);
  void on_ste_deliver(const proto::Deliver& d);
  void on_dtd_deliver(const proto::Deliver& d);
  void advance();
  void send_customer_details();
  void fail_with(std::string kind, std::string detail);

  SessionPlan plan_;
  cardsim::SimCard& retailer_card_;
  proto::DtdRelay& dtd_;
  proto::SteHandshake ste_;
  cardperso::testing::CounterCores cores_;  // wires ste_ and dtd_
  std::unique_ptr<Terminal> terminal_;
  proto::TimePoint now_{};
  std::vector<proto::Frame> out_;

  bool ste_up_ = false, dtd_up_ = false, ste_closed_ = false, terminate_sent_ = false, finished_ = false;
  // The card in progress: what the DTD has seen of it.
  bool card_open_ = false, card_decision_ = false, card_done_ = false, card_receipt_ = false;
  std::size_t cards_started_ = 0, cards_done_ = 0;
  std::vector<std::pair<proto::TimePoint, proto::TimePoint>> card_times_;
  std::optional<proto::TimePoint> established_at_;
  std::optional<std::string> error_;
  std::string error_kind_;
};

}  // namespace cardperso::bench
