#pragma once
// Version negotiation on the link-control channel (proto/PROTOCOL.md §Version negotiation): the
// answering side picks the highest version inside both ranges, or refuses with UnsupportedVersion.
#include <cstdint>

#include "cardperso/common/result.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::proto {

// Version 1 had no forward secrecy (a retailer card and its PIN opened every recorded session): it is
// refused, never negotiated.
inline constexpr std::uint8_t kMinSupportedVersion = 2;
inline constexpr std::uint8_t kMaxSupportedVersion = kProtocolVersion;

// The ADS (for LinkHello) and the DTD (for SteHello) answer with this.
Result<LinkHelloAck> negotiate_version(std::uint8_t peer_min, std::uint8_t peer_max);
// The DTD (and the STE) check the answer names a version they offered.
Result<void> check_hello_ack(const LinkHelloAck& ack, std::uint8_t offered_min = kMinSupportedVersion,
                             std::uint8_t offered_max = kMaxSupportedVersion);

}  // namespace cardperso::proto
