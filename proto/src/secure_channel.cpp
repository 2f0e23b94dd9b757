#include "cardperso/proto/secure_channel.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::proto {

Bytes gcm_nonce(Direction direction, std::uint64_t counter) {
  Bytes nonce;
  nonce.reserve(crypto::kGcmNonceSize);
  put_u32(nonce, static_cast<std::uint32_t>(direction));
  put_u64(nonce, counter);
  return nonce;
}

SecureChannel::SecureChannel(SecretBytes key, const TranscriptHash& transcript, Direction send, Direction receive)
    : key_(std::move(key)), transcript_(transcript), send_(send), receive_(receive) {
  if (key_.size() != crypto::kAesKeySize) throw std::invalid_argument("SecureChannel needs a 16-byte session key");
  if (send == receive) throw std::invalid_argument("SecureChannel: send and receive directions must differ");
}

Error SecureChannel::poison(ErrorCode code, std::string message) {
  if (!poisoned_) failure_ = code;
  poisoned_ = true;
  key_.wipe();
  return fail(std::move(message));
}

void SecureChannel::terminate() {
  key_.wipe();
  poisoned_ = true;
}

Result<Frame> SecureChannel::seal(FrameHeader header, ByteView plaintext) {
  if (!usable()) return fail("secure channel is closed after an earlier failure or termination; start a new session");
  if (plaintext.size() > kMaxPlaintext)
    return poison(ErrorCode::Internal,
                  fmt::format("plaintext of {} bytes exceeds the {}-byte limit of one sealed frame", plaintext.size(),
                              kMaxPlaintext));
  if (send_counter_ >= kCounterLimit)
    return poison(ErrorCode::Internal, "send counter exhausted; start a new session");
  header.version = kProtocolVersion;
  header.flags = kFlagSealed;
  header.length = static_cast<std::uint32_t>(plaintext.size() + kSealOverhead);
  const std::uint64_t counter = send_counter_++;
  Bytes aad = encode_header(header);
  aad.insert(aad.end(), transcript_.begin(), transcript_.end());
  Frame frame;
  frame.header = header;
  frame.payload.reserve(header.length);
  put_u64(frame.payload, counter);
  auto sealed = crypto::aes128_gcm_seal(key_.view(), gcm_nonce(send_, counter), aad, plaintext);
  frame.payload.insert(frame.payload.end(), sealed.begin(), sealed.end());
  return frame;
}

Result<SecretBytes> SecureChannel::open(const Frame& frame) {
  if (!usable()) return fail("secure channel is closed after an earlier failure or termination; start a new session");
  if ((frame.header.flags & kFlagSealed) == 0)
    return poison(ErrorCode::UnexpectedMessage, "a clear frame arrived where a sealed one was required");
  if (frame.payload.size() < kSealOverhead || frame.payload.size() != frame.header.length)
    return poison(ErrorCode::BadFrame,
                  fmt::format("sealed payload of {} bytes is shorter than its {}-byte counter and tag or disagrees "
                              "with the header length",
                              frame.payload.size(), kSealOverhead));
  const std::uint64_t counter = get_u64(frame.payload, 0);
  if (counter != receive_counter_)
    return poison(ErrorCode::CounterOutOfOrder,
                  fmt::format("sealed frame carries counter {}, expected {}: replayed, reordered or dropped", counter,
                              receive_counter_));
  if (receive_counter_ >= kCounterLimit) return poison(ErrorCode::CounterOutOfOrder, "receive counter exhausted");
  Bytes aad = encode_header(frame.header);
  aad.insert(aad.end(), transcript_.begin(), transcript_.end());
  auto opened = crypto::aes128_gcm_open(key_.view(), gcm_nonce(receive_, counter), aad,
                                        ByteView(frame.payload).subspan(kCounterSize));
  if (!opened)
    return poison(ErrorCode::DecryptFailed,
                  "sealed frame failed authentication: altered in transit, or sealed under another key, "
                  "direction or session");
  ++receive_counter_;
  SecretBytes out{ByteView(*opened)};
  secure_wipe(opened->data(), opened->size());
  return out;
}

}  // namespace cardperso::proto
