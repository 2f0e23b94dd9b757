// The vpcd framing decoder (card-sim/src/vpcd_codec.hpp) on an arbitrary stream in fuzzer-chosen
// splits, optionally repeated so the buffer compaction past 4 KiB is reached, under a fuzzer-chosen
// payload bound. Invariants: the split does not change the messages or the error; every message
// re-encodes to exactly the bytes it was read from (the reply framing is the same format) and
// respects the bound; an error comes only from a length 0 or over the bound, and stops everything.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"
#include "vpcd_codec.hpp"

using namespace cardperso;
using namespace cardperso::cardsim;

namespace {

struct Outcome {
  std::vector<Bytes> payloads;  // each message as the payload it was decoded from
  std::string error;
};

Bytes payload_of(const VpcdMessage& m) {
  if (const auto* c = std::get_if<VpcdControl>(&m)) return {static_cast<std::uint8_t>(*c)};
  if (const auto* u = std::get_if<VpcdUnknownControl>(&m)) {
    FUZZ_CHECK(u->code != 0x00 && u->code != 0x01 && u->code != 0x02 && u->code != 0x04,
               "a known control byte was reported as unknown");
    return {u->code};
  }
  const Bytes& apdu = std::get<VpcdApdu>(m).command;
  FUZZ_CHECK(apdu.size() >= 2, "a 1-byte payload must be a control, not an APDU");
  return apdu;
}

void drain(VpcdDecoder& d, Outcome& out) {
  while (out.error.empty()) {
    auto m = d.next();
    if (!m) {
      out.error = d.error();
      return;
    }
    out.payloads.push_back(payload_of(*m));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const std::uint32_t split_seed = fdp.ConsumeIntegral<std::uint32_t>();
  const std::size_t bound = fdp.ConsumeBool() ? kVpcdMaxPayload : fdp.ConsumeIntegralInRange<std::size_t>(1, 600);
  const int repeats = fdp.ConsumeIntegralInRange<int>(1, 16);
  const std::vector<std::uint8_t> body = fdp.ConsumeRemainingBytes<std::uint8_t>();
  Bytes stream;
  for (int i = 0; i < repeats; ++i) stream.insert(stream.end(), body.begin(), body.end());

  VpcdDecoder whole(bound);
  whole.feed(stream);
  Outcome reference;
  drain(whole, reference);

  VpcdDecoder pieces(bound);
  Outcome split;
  std::uint32_t lcg = split_seed | 1;
  for (std::size_t at = 0; at < stream.size();) {
    lcg = lcg * 1664525u + 1013904223u;
    const std::size_t n = std::min<std::size_t>(1 + (lcg >> 24), stream.size() - at);
    const std::size_t before = pieces.buffered();
    pieces.feed(ByteView(stream).subspan(at, n));
    if (!split.error.empty()) FUZZ_CHECK(pieces.buffered() == before, "bytes fed after an error were buffered");
    at += n;
    drain(pieces, split);
  }

  FUZZ_CHECK(split.error == reference.error, "the split changed the error");
  FUZZ_CHECK(split.payloads == reference.payloads, "the split changed the messages");

  std::size_t offset = 0;
  for (const Bytes& p : reference.payloads) {
    FUZZ_CHECK(!p.empty() && p.size() <= bound, "a message outside the payload bound was delivered");
    const Bytes framed = encode_vpcd_reply(p);
    FUZZ_CHECK(std::equal(framed.begin(), framed.end(), stream.begin() + static_cast<std::ptrdiff_t>(offset)),
               "a message does not re-encode to the bytes it was read from");
    offset += framed.size();
  }
  const std::size_t rest = stream.size() - offset;
  if (!reference.error.empty()) {
    FUZZ_CHECK(rest >= 2, "an error without a length field");
    const std::size_t length = get_u16(stream, offset);
    FUZZ_CHECK(length == 0 || length > bound, "an error on a valid length");
    FUZZ_CHECK(!whole.next().has_value() && !whole.error().empty(), "an errored decoder delivered a message");
  } else {
    FUZZ_CHECK(whole.buffered() == rest && pieces.buffered() == rest, "buffered bytes are not the unread tail");
    if (rest >= 2) FUZZ_CHECK(rest < 2 + get_u16(stream, offset), "a complete message was left in the buffer");
  }
  return 0;
}
