#pragma once
// The network-stack baseline of the same run: cardperso-echo-bench (bench/echo) started as a child
// with the exchanges one real session made (frame sizes as measured), the same number of
// connections, and its JSON summary read back.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardperso/common/result.hpp"
#include "load_run.hpp"

namespace cardperso::bench {

struct EchoBaselinePlan {
  std::string program;
  std::vector<ExchangeBytes> exchanges;
  std::size_t connections = 1;
  std::size_t sessions = 10'000;
  std::chrono::milliseconds timeout{10'000};
};

// "80:70,70:70" as cardperso-echo-bench --exchanges takes it.
std::string exchanges_argument(const std::vector<ExchangeBytes>& exchanges);

// The echo benchmark's {"bench":"echo",...} summary.
Result<nlohmann::json> run_echo_baseline(const EchoBaselinePlan& plan);

}  // namespace cardperso::bench
