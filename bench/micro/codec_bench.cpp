// Frame codec (header + payload, incremental decoder) and the four handshake messages.
#include <benchmark/benchmark.h>

#include "cardperso/proto/frame.hpp"
#include "cardperso/proto/messages.hpp"
#include "cardperso/testing/codec_round_trip.hpp"

namespace {

using namespace cardperso;
using namespace cardperso::proto;

FrameHeader sealed_header(std::size_t length) {
  FrameHeader h = cardperso::testing::ste_ads_header(MessageType::AppData);
  h.flags = kFlagSealed;
  h.length = static_cast<std::uint32_t>(length);
  return h;
}

void BM_FrameEncode(benchmark::State& state) {
  const Bytes payload(static_cast<std::size_t>(state.range(0)), 0xa5);
  const FrameHeader header = sealed_header(payload.size());
  for (auto _ : state) {
    Bytes wire = encode_frame(header, payload);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kHeaderSize + payload.size()));
}
BENCHMARK(BM_FrameEncode)->Arg(64)->Arg(1024)->Arg(16384);

// One frame fed whole, then pulled: what the framed stream does per received frame.
void BM_FrameDecode(benchmark::State& state) {
  const Bytes payload(static_cast<std::size_t>(state.range(0)), 0xa5);
  const Bytes wire = encode_frame(sealed_header(payload.size()), payload);
  FrameDecoder decoder;
  for (auto _ : state) {
    decoder.feed(wire);
    auto frame = decoder.next();
    if (!frame || !*frame) {
      state.SkipWithError("decoder rejected a valid frame");
      break;
    }
    benchmark::DoNotOptimize((**frame).payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_FrameDecode)->Arg(64)->Arg(1024)->Arg(16384);

Block16 block(std::uint8_t seed) {
  Block16 b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed + i);
  return b;
}

HandshakeH1 sample(const HandshakeH1*) {
  HandshakeH1 m;
  m.key_version = 1;
  m.serial = "8988211000000001";
  m.rn2 = block(1);
  m.rn4 = block(2);
  m.rn6 = block(3);
  return m;
}
HandshakeH2 sample(const HandshakeH2*) { return HandshakeH2{42, block(4), block(5), block(6), {}}; }
HandshakeH3 sample(const HandshakeH3*) { return HandshakeH3{block(7), block(8), block(9)}; }
HandshakeH4 sample(const HandshakeH4*) { return HandshakeH4{block(10), block(11), block(12)}; }

template <class Message>
void BM_MessageEncode(benchmark::State& state) {
  const Message m = sample(static_cast<const Message*>(nullptr));
  std::size_t size = 0;
  for (auto _ : state) {
    Bytes payload = m.encode();
    size = payload.size();
    benchmark::DoNotOptimize(payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  state.counters["payload_bytes"] = static_cast<double>(size);
}

template <class Message>
void BM_MessageDecode(benchmark::State& state) {
  const Bytes payload = sample(static_cast<const Message*>(nullptr)).encode();
  for (auto _ : state) {
    auto m = Message::decode(payload);
    if (!m) {
      state.SkipWithError("decode rejected a valid message");
      break;
    }
    benchmark::DoNotOptimize(&*m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
}

BENCHMARK_TEMPLATE(BM_MessageEncode, HandshakeH1);
BENCHMARK_TEMPLATE(BM_MessageDecode, HandshakeH1);
BENCHMARK_TEMPLATE(BM_MessageEncode, HandshakeH2);
BENCHMARK_TEMPLATE(BM_MessageDecode, HandshakeH2);
BENCHMARK_TEMPLATE(BM_MessageEncode, HandshakeH3);
BENCHMARK_TEMPLATE(BM_MessageDecode, HandshakeH3);
BENCHMARK_TEMPLATE(BM_MessageEncode, HandshakeH4);
BENCHMARK_TEMPLATE(BM_MessageDecode, HandshakeH4);

}  // namespace
