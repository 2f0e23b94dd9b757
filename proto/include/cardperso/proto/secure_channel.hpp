#pragma once
// Secure messaging after the handshake (proto/PROTOCOL.md §Secure messaging): AES-128-GCM under one
// session key.
//   nonce   = direction (4 bytes) || counter (8 bytes)
//   AAD     = the 16-byte frame header (sealed flag set, final length) || transcript hash (32)
//   payload = counter (8, clear) || ciphertext || tag (16)
// The receiver demands exactly the next counter; any failure poisons the channel for good, so the
// session must end. The clear counter lets a replay or gap be reported as such, not as a bad tag.
#include <cstdint>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/error_codes.hpp"
#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/transcript.hpp"

namespace cardperso::proto {

enum class Direction : std::uint32_t { SteToAds = 1, AdsToSte = 2, DtdToAds = 3, AdsToDtd = 4 };

inline constexpr std::size_t kCounterSize = 8;
inline constexpr std::size_t kSealOverhead = kCounterSize + 16;
inline constexpr std::size_t kMaxPlaintext = kMaxPayload - kSealOverhead;
// The last counter value is never used, so "next counter" never wraps.
inline constexpr std::uint64_t kCounterLimit = UINT64_MAX;

class SecureChannel {
 public:
  // key: the 16-byte session key (moved in, wiped on terminate/destruction).
  SecureChannel(SecretBytes key, const TranscriptHash& transcript, Direction send, Direction receive);

  // header: channel, type, session (flags and length are set here). Fails when the channel is
  // poisoned or terminated, the plaintext is over kMaxPlaintext, or the counter is exhausted.
  Result<Frame> seal(FrameHeader header, ByteView plaintext);
  // The plaintext, or why the frame is refused (failure_code() then says which ErrorCode to send).
  Result<SecretBytes> open(const Frame& frame);

  // Wipes the key; every later seal/open fails.
  void terminate();
  bool usable() const { return !poisoned_ && !key_.empty(); }
  ErrorCode failure_code() const { return failure_; }
  std::uint64_t next_send_counter() const { return send_counter_; }
  std::uint64_t next_receive_counter() const { return receive_counter_; }
  // Test hook for the counter-exhaustion path; production code never calls it.
  void set_counters_for_test(std::uint64_t send, std::uint64_t receive) {
    send_counter_ = send;
    receive_counter_ = receive;
  }

 private:
  Error poison(ErrorCode code, std::string message);

  SecretBytes key_;
  TranscriptHash transcript_;
  Direction send_;
  Direction receive_;
  std::uint64_t send_counter_ = 0;
  std::uint64_t receive_counter_ = 0;
  bool poisoned_ = false;
  ErrorCode failure_ = ErrorCode::None;
};

// The 12-byte GCM nonce; exposed for the known-answer test.
Bytes gcm_nonce(Direction direction, std::uint64_t counter);

}  // namespace cardperso::proto
