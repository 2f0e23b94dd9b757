#pragma once
// The hello rate limit applied to one new connection, before its LinkHello is even read.
#include <optional>
#include <string>

#include "cardperso/ads/service/hello_rate_limiter.hpp"

namespace cardperso::ads {

// The text of the Error Busy to send when the connection from `peer` is over the limit (and logs the
// refusal, rate-limited); nullopt when it may go on. limiter may be null (no limit).
std::optional<std::string> refuse_hello(HelloRateLimiter* limiter, const std::string& peer,
                                        HelloRateLimiter::Clock::time_point now);

}  // namespace cardperso::ads
