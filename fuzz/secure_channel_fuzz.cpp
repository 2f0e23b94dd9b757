// proto::SecureChannel::open on arbitrary frames under a fixed key and transcript.
// Byte 0 bit 0 picks how frames are built: 0 = the rest is a wire stream cut by FrameDecoder
// (valid headers), 1 = frames assembled field by field, header and payload free to disagree.
// Invariants: open succeeds only on a frame that seal() produces byte for byte for that counter
// (re-sealing the plaintext reproduces the frame), the counter then moves by one, any failure
// poisons the channel for good with an error code, and nothing crashes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/proto/secure_channel.hpp"
#include "fuzz_check.hpp"
#include "secure_channel_fixture.hpp"

using namespace cardperso;
using namespace cardperso::proto;

namespace {

std::vector<Frame> frames_from_stream(ByteView stream) {
  std::vector<Frame> frames;
  FrameDecoder d;
  d.feed(stream);
  while (frames.size() < 16) {
    auto r = d.next();
    if (!r || !r->has_value()) break;
    frames.push_back(std::move(**r));
  }
  return frames;
}

std::vector<Frame> frames_from_fields(FuzzedDataProvider& fdp) {
  std::vector<Frame> frames;
  while (fdp.remaining_bytes() > 0 && frames.size() < 16) {
    Frame f;
    f.header.version = fdp.ConsumeIntegral<std::uint8_t>();
    f.header.channel = static_cast<Channel>(fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2));
    f.header.type = fdp.ConsumeIntegral<std::uint8_t>();
    f.header.flags = fdp.ConsumeIntegral<std::uint8_t>();
    f.header.session = fdp.ConsumeIntegral<std::uint32_t>();
    f.header.length = fdp.ConsumeIntegral<std::uint32_t>();
    f.payload = fdp.ConsumeBytes<std::uint8_t>(fdp.ConsumeIntegralInRange<std::size_t>(0, 512));
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider fdp(data + 1, size - 1);
  const std::vector<Frame> frames =
      (data[0] & 1) == 0 ? frames_from_stream(ByteView(data + 1, size - 1)) : frames_from_fields(fdp);

  // The ADS side receiving from the STE.
  SecureChannel receiver(fuzz_fixture::key(), fuzz_fixture::transcript(), Direction::AdsToSte, Direction::SteToAds);
  bool poisoned = false;
  for (const Frame& frame : frames) {
    const std::uint64_t counter = receiver.next_receive_counter();
    auto opened = receiver.open(frame);
    if (poisoned) {
      FUZZ_CHECK(!opened.ok(), "a poisoned channel opened a frame");
      continue;
    }
    if (!opened) {
      poisoned = true;
      FUZZ_CHECK(!receiver.usable() && receiver.failure_code() != ErrorCode::None,
                 "a refused frame must poison the channel with a reason");
      FUZZ_CHECK(!opened.error().message.empty(), "a refusal must say why");
      continue;
    }
    FUZZ_CHECK(receiver.next_receive_counter() == counter + 1, "the receive counter did not move by one");
    // The only frames that open are the ones seal() makes: re-seal and compare every byte.
    SecureChannel sender(fuzz_fixture::key(), fuzz_fixture::transcript(), Direction::SteToAds,
                         Direction::AdsToSte);
    sender.set_counters_for_test(counter, 0);
    FrameHeader h;
    h.channel = frame.header.channel;
    h.type = frame.header.type;
    h.session = frame.header.session;
    auto resealed = sender.seal(h, opened->view());
    FUZZ_CHECK(resealed.ok(), "an opened plaintext cannot be sealed again");
    FUZZ_CHECK(encode_frame(resealed->header, resealed->payload) == encode_frame(frame.header, frame.payload) &&
                   frame.header.version == kProtocolVersion && frame.header.flags == kFlagSealed &&
                   frame.header.length == frame.payload.size(),
               "open accepted a frame that seal() does not produce (forgery or malleability)");
  }
  return 0;
}
