#include "cardperso/proto/link.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cardperso::proto {

Result<LinkHelloAck> negotiate_version(std::uint8_t peer_min, std::uint8_t peer_max) {
  const auto lo = std::max(peer_min, kMinSupportedVersion);
  const auto hi = std::min(peer_max, kMaxSupportedVersion);
  if (peer_min == 0 || lo > hi)
    return fail(fmt::format("no protocol version in common: peer speaks {}..{}, this side {}..{}; upgrade the "
                            "older side",
                            peer_min, peer_max, kMinSupportedVersion, kMaxSupportedVersion));
  return LinkHelloAck{hi};
}

Result<void> check_hello_ack(const LinkHelloAck& ack, std::uint8_t offered_min, std::uint8_t offered_max) {
  if (ack.version < offered_min || ack.version > offered_max)
    return fail(fmt::format("peer chose protocol version {}, which was not offered ({}..{})", ack.version,
                            offered_min, offered_max));
  return {};
}

}  // namespace cardperso::proto
