#pragma once
// The fixed key and transcript shared by secure_channel_fuzz and the corpus generator, so the seeds
// hold frames that really open. Not a secret: fuzzing only.
#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/transcript.hpp"

namespace fuzz_fixture {

inline cardperso::SecretBytes key() {
  static const cardperso::Bytes k = cardperso::hex("000102030405060708090a0b0c0d0e0f");
  return cardperso::SecretBytes(cardperso::ByteView(k));
}

inline cardperso::proto::TranscriptHash transcript() {
  cardperso::proto::TranscriptHash t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint8_t>(0xA0 + i);
  return t;
}

}  // namespace fuzz_fixture
