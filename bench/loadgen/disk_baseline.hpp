#pragma once
// The storage baseline of the same run: how long a durable commit's flush takes in the directory
// holding the database (write 4 KiB at the end of a file, fdatasync), as SQLite's WAL commit with
// synchronous=FULL does. A server that flushes once per commit on its one thread cannot exceed
// 1 / (flush time x flushes per session) sessions/s, whatever its CPU.
#include <string>

#include "cardperso/common/result.hpp"
#include "latency_histogram.hpp"

namespace cardperso::bench {

Result<LatencySummary> measure_flush_latency(const std::string& dir, std::size_t flushes);

}  // namespace cardperso::bench
