#include "cardperso/ads/service/hello_admission.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cardperso/net/source_address.hpp"

namespace cardperso::ads {

std::optional<std::string> refuse_hello(HelloRateLimiter* limiter, const std::string& peer,
                                        HelloRateLimiter::Clock::time_point now) {
  if (limiter == nullptr || !limiter->enabled()) return std::nullopt;
  const auto source = net::source_key_of_peer(peer);
  if (!source) return std::nullopt;
  const auto verdict = limiter->admit(*source, now);
  if (verdict.allowed) return std::nullopt;
  if (verdict.log_refusals > 0)
    spdlog::warn("too many connections from {}: {} hello(s) refused since the previous line (limit {}/s, "
                 "burst {}); at most one line per {} ms", *source, verdict.log_refusals,
                 limiter->options().rate_per_second, limiter->options().burst, limiter->options().log_interval.count());
  return fmt::format("too many connections from {}; retry later", *source);
}

}  // namespace cardperso::ads
