// proto::FrameDecoder on an arbitrary byte stream fed in fuzzer-chosen splits.
// Invariants: the split does not change what is decoded (frames, failure and its message); every frame
// is within the bounds and re-encodes to exactly the bytes it was read from; after a failure nothing
// more is buffered or delivered.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cardperso/proto/frame.hpp"
#include "fuzz_check.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {

struct Outcome {
  std::vector<Frame> frames;
  bool failed = false;
  std::string error;
};

// Pulls every frame the decoder can give now; stops at "need more bytes" or the first failure.
void drain(FrameDecoder& d, Outcome& out) {
  while (!out.failed) {
    auto r = d.next();
    if (!r) {
      out.failed = true;
      out.error = r.error().message;
      FUZZ_CHECK(!out.error.empty(), "a rejection must say why");
      FUZZ_CHECK(d.failed() && d.buffered() == 0, "a failed decoder keeps no bytes");
      return;
    }
    if (!r->has_value()) return;
    out.frames.push_back(std::move(**r));
  }
}

bool same_frame(const Frame& a, const Frame& b) {
  return a.header.version == b.header.version && a.header.channel == b.header.channel &&
         a.header.type == b.header.type && a.header.flags == b.header.flags &&
         a.header.session == b.header.session && a.header.length == b.header.length && a.payload == b.payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const std::uint32_t split_seed = fdp.ConsumeIntegral<std::uint32_t>();  // taken from the end of the input
  const std::vector<std::uint8_t> stream = fdp.ConsumeRemainingBytes<std::uint8_t>();

  // Reference: the whole stream in one feed.
  FrameDecoder whole;
  whole.feed(stream);
  Outcome reference;
  drain(whole, reference);

  // The same stream in pieces of 1..32 bytes chosen by a small LCG seeded from the input.
  FrameDecoder pieces;
  Outcome split;
  std::uint32_t lcg = split_seed | 1;
  std::size_t at = 0;
  while (at < stream.size()) {
    lcg = lcg * 1664525u + 1013904223u;
    const std::size_t n = std::min<std::size_t>(1 + (lcg >> 27), stream.size() - at);
    const std::size_t before = pieces.buffered();
    pieces.feed(ByteView(stream).subspan(at, n));
    if (split.failed) FUZZ_CHECK(pieces.buffered() == before, "bytes fed after a failure are not buffered");
    at += n;
    drain(pieces, split);
  }
  drain(pieces, split);

  FUZZ_CHECK(split.failed == reference.failed, "the split changed whether the stream is rejected");
  FUZZ_CHECK(split.error == reference.error, "the split changed the rejection reason");
  FUZZ_CHECK(split.frames.size() == reference.frames.size(), "the split changed the number of frames");

  // Every frame is bounded, valid and re-encodes to the exact bytes it came from.
  std::size_t offset = 0;
  for (std::size_t i = 0; i < reference.frames.size(); ++i) {
    const Frame& f = reference.frames[i];
    FUZZ_CHECK(same_frame(f, split.frames[i]), "the split changed a frame");
    FUZZ_CHECK(f.payload.size() <= kMaxPayload, "a frame is longer than kMaxPayload");
    FUZZ_CHECK(f.payload.size() == f.header.length, "payload size disagrees with the header length");
    FUZZ_CHECK(f.header.version == kProtocolVersion, "a frame of another version was accepted");
    FUZZ_CHECK(static_cast<std::uint8_t>(f.header.channel) <= 2, "a frame on an unknown channel was accepted");
    FUZZ_CHECK((f.header.flags & ~kFlagSealed) == 0, "a frame with unknown flags was accepted");
    const Bytes encoded = encode_frame(f.header, f.payload);
    FUZZ_CHECK(offset + encoded.size() <= stream.size(), "a frame extends past the stream");
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), stream.begin() + static_cast<std::ptrdiff_t>(offset)),
               "decode -> encode does not give back the bytes read");
    auto header = decode_header(ByteView(encoded).first(kHeaderSize));
    FUZZ_CHECK(header.ok() && header->length == f.header.length, "a re-encoded header does not decode");
    offset += encoded.size();
  }

  const std::size_t rest = stream.size() - offset;
  if (reference.failed) {
    // The rejected header is the one right after the last frame, and decode_header agrees.
    FUZZ_CHECK(rest >= kHeaderSize, "rejected without a whole header");
    FUZZ_CHECK(!decode_header(ByteView(stream).subspan(offset, kHeaderSize)).ok(),
               "the decoder rejected a header that decode_header accepts");
    FUZZ_CHECK(!whole.next().ok() && whole.buffered() == 0, "a failed decoder must stay failed and empty");
  } else {
    FUZZ_CHECK(whole.buffered() == rest && pieces.buffered() == rest, "buffered bytes are not the unread tail");
    if (rest >= kHeaderSize) {
      auto header = decode_header(ByteView(stream).subspan(offset, kHeaderSize));
      FUZZ_CHECK(header.ok() && rest < kHeaderSize + header->length, "a complete frame was left in the buffer");
    }
  }
  return 0;
}
