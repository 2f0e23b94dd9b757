#pragma once
// What the sans-I/O role cores (ads_handshake, ste_handshake, dtd_relay) ask their adapters to do.
// Events go in through methods (on_frame, on_timeout, ...); each returns the actions to carry out in
// order. Time is passed in; the cores never read a clock.
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class Peer : std::uint8_t { Ads, Ste, Dtd };

// Write this frame to the link towards `to`.
struct SendFrame {
  Peer to;
  Frame frame;
};
// ADS: look the retailer card and the terminal (its device key, from H1) up and answer with
// AdsHandshake::on_retailer_lookup.
struct LookupRetailer {
  std::string serial;
  std::uint8_t key_version = 0;
  DeviceKey terminal{};
};
// ADS: count a failed retailer authentication against the card (locks it past the limit).
struct RecordAuthFailure {
  std::string serial;
  std::uint8_t key_version = 0;
};
// Both sides authenticated and confirmed the keys; sealed messages may flow.
struct SessionEstablished {
  std::uint32_t session = 0;
  std::string serial;
};
// A sealed message was opened: hand the plaintext to the application.
struct Deliver {
  Channel channel = Channel::SteAds;
  MessageType type = MessageType::AppData;
  SecretBytes plaintext;
};
// DTD: a link-control frame the relay does not handle itself (hello, keepalive, error).
struct LinkMessage {
  Peer from;
  Frame frame;
};
// The session is over (keys already erased). code None = normal end; otherwise why it failed.
struct Close {
  ErrorCode code = ErrorCode::None;
  std::string reason;
};

using Action = std::variant<SendFrame, LookupRetailer, RecordAuthFailure, SessionEstablished, Deliver, LinkMessage,
                            Close>;
using Actions = std::vector<Action>;

// The four long-term keys of one retailer card (AES-128 each).
struct RetailerKeys {
  SecretBytes k_ra, k_ia, k_s, k_d;
  bool complete() const { return k_ra.size() == 16 && k_ia.size() == 16 && k_s.size() == 16 && k_d.size() == 16; }
  void wipe() {
    k_ra.wipe();
    k_ia.wipe();
    k_s.wipe();
    k_d.wipe();
  }
};

struct Timeouts {
  std::chrono::milliseconds handshake{30'000};   // from H1 until the session is established
  std::chrono::milliseconds idle{15 * 60'000};  // silence on an established session
  // ADS: a refusal at H1 (terminal or card not accepted) leaves no earlier than this after the H1,
  // whatever the reason and however long the lookup took: the answer's timing tells nothing.
  std::chrono::milliseconds refusal_floor{50};
};

// Fills the span with random bytes. The default is OpenSSL's RAND_bytes; tests inject fixed values.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;
RandomSource default_random_source();

// Helpers for adapters and tests.
// The first action of type T in `actions` (Actions, LinkActions, ...), or null.
template <class T, class List = Actions>
const T* find_action(const List& actions) {
  for (const auto& a : actions)
    if (const auto* p = std::get_if<T>(&a)) return p;
  return nullptr;
}

}  // namespace cardperso::proto
