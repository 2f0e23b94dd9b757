// The AEAD channel (AES-128-GCM seal + open, as one side seals and the other opens) and the
// per-session key work: derivation, transcript hashes, key confirmations.
#include <benchmark/benchmark.h>

#include "cardperso/common/crypto.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "cardperso/proto/session_keys.hpp"
#include "cardperso/proto/terminal_identity.hpp"
#include "cardperso/proto/transcript.hpp"
#include "cardperso/testing/codec_round_trip.hpp"
#include "cardperso/testing/test_keys.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::proto;

SecretBytes key16(std::uint8_t seed) { return cardperso::testing::counting_key(seed); }

TranscriptHash some_transcript() {
  TranscriptHash th{};
  for (std::size_t i = 0; i < th.size(); ++i) th[i] = static_cast<std::uint8_t>(0x30 + i);
  return th;
}

// Bytes = plaintext bytes carried through seal and open.
void BM_SecureChannelSealOpen(benchmark::State& state) {
  const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
  SecureChannel ads(key16(1), some_transcript(), Direction::AdsToSte, Direction::SteToAds);
  SecureChannel ste(key16(1), some_transcript(), Direction::SteToAds, Direction::AdsToSte);
  const FrameHeader header = cardperso::testing::ste_ads_header(MessageType::AppData);
  for (auto _ : state) {
    auto frame = ads.seal(header, plaintext);
    if (!frame) {
      state.SkipWithError(frame.error().message.c_str());
      break;
    }
    auto opened = ste.open(*frame);
    if (!opened) {
      state.SkipWithError(opened.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(opened->view().data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plaintext.size()));
}
BENCHMARK(BM_SecureChannelSealOpen)->Arg(64)->Arg(1024)->Arg(16384);

void BM_SecureChannelSeal(benchmark::State& state) {
  const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
  SecureChannel ads(key16(1), some_transcript(), Direction::AdsToSte, Direction::SteToAds);
  const FrameHeader header = cardperso::testing::ste_ads_header(MessageType::AppData);
  for (auto _ : state) {
    auto frame = ads.seal(header, plaintext);
    benchmark::DoNotOptimize(frame->payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(plaintext.size()));
}
BENCHMARK(BM_SecureChannelSeal)->Arg(64)->Arg(1024)->Arg(16384);

void BM_DeriveSessionKey(benchmark::State& state) {
  const SecretBytes k_s = key16(0x80);
  const Bytes rn_ads(16, 0x11), rn_ste(16, 0x22);
  for (auto _ : state) {
    SecretBytes sk = derive_session_key(k_s, rn_ads, rn_ste);
    benchmark::DoNotOptimize(sk.view().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeriveSessionKey);

struct TranscriptFixture {
  Bytes h1 = Bytes(99, 0x01);  // H1 with a 16-digit serial
  Bytes h2 = Bytes(84, 0x02);
  Block16 retailer{};
  Block16 issuer{};
  TranscriptInputs inputs() const { return TranscriptInputs{h1, 42, h2, retailer}; }
};

void BM_TranscriptH3H4(benchmark::State& state) {
  const TranscriptFixture t;
  for (auto _ : state) {
    TranscriptHash a = transcript_h3(t.inputs());
    TranscriptHash b = transcript_h4(t.inputs(), t.issuer);
    benchmark::DoNotOptimize(a.data());
    benchmark::DoNotOptimize(b.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TranscriptH3H4);

void BM_KeyConfirmation(benchmark::State& state) {
  const SecretBytes sk = key16(9);
  const TranscriptHash th = some_transcript();
  for (auto _ : state) {
    Block16 c = key_confirmation(sk, ConfirmedKey::SkS, Confirmer::Ste, th);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyConfirmation);

// What the ADS computes per handshake: a fresh X25519 key pair and the shared secret, two
// cryptograms, the two patent inputs and the two HKDFs of SK_S and SK_D, all three transcripts, the
// four confirmations (two made, two checked) and the check of the terminal's Ed25519 signature of T3
// (the STE makes it instead; a signature costs less than its check).
void BM_HandshakeKeySchedule(benchmark::State& state) {
  const SecretBytes k_ra = key16(0), k_ia = key16(0x40), k_s = key16(0x80), k_d = key16(0xc0);
  const Bytes rn(16, 0x33), rn_other(16, 0x44);
  const auto peer_share = crypto::x25519_public(crypto::random_secret(crypto::kX25519Size));
  const crypto::Ed25519Signer device(crypto::random_secret(crypto::kEd25519KeySize));
  TranscriptFixture t;
  t.retailer = retailer_cryptogram(k_ra, rn);
  const DeviceSignature signature = sign_transcript(device, transcript_h3(t.inputs()));
  for (auto _ : state) {
    const crypto::X25519KeyPair ephemeral(crypto::random_secret(crypto::kX25519Size));
    benchmark::DoNotOptimize(ephemeral.public_key().data());
    auto z = ephemeral.shared_secret(peer_share);
    if (!z) state.SkipWithError("X25519 failed");
    t.retailer = retailer_cryptogram(k_ra, rn);
    t.issuer = issuer_cryptogram(k_ia, rn_other);
    const TranscriptHash t2 = transcript_h2(t.inputs());
    SecretBytes sk_s = session_key(ConfirmedKey::SkS, derive_session_key(k_s, rn, rn_other), *z, t2);
    SecretBytes sk_d = session_key(ConfirmedKey::SkD, derive_session_key(k_d, rn_other, rn), *z, t2);
    const TranscriptHash th3 = transcript_h3(t.inputs());
    if (!transcript_signature_valid(device.public_key(), th3, signature)) state.SkipWithError("signature refused");
    const TranscriptHash th4 = transcript_h4(t.inputs(), t.issuer);
    Block16 c1 = key_confirmation(sk_s, ConfirmedKey::SkS, Confirmer::Ste, th3);
    Block16 c2 = key_confirmation(sk_d, ConfirmedKey::SkD, Confirmer::Ste, th3);
    Block16 c3 = key_confirmation(sk_s, ConfirmedKey::SkS, Confirmer::Ads, th4);
    Block16 c4 = key_confirmation(sk_d, ConfirmedKey::SkD, Confirmer::Ads, th4);
    benchmark::DoNotOptimize(c1.data());
    benchmark::DoNotOptimize(c2.data());
    benchmark::DoNotOptimize(c3.data());
    benchmark::DoNotOptimize(c4.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HandshakeKeySchedule);

}  // namespace
