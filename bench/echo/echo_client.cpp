#include "echo_client.hpp"

#include <memory>

#include "cardperso/net/tcp_connector.hpp"
#include "cardperso/proto/messages.hpp"

namespace cardperso::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kKeptErrors = 5;

struct LoadState {
  EchoPlan plan;
  std::vector<Bytes> requests;  // one encoded frame per exchange
  std::size_t next_session = 0;
  std::size_t running = 0;
  Clock::time_point started;
  Clock::time_point finished;
  EchoReport report;

  void error(std::string what) {
    ++report.errors;
    if (report.first_errors.size() < kKeptErrors) report.first_errors.push_back(std::move(what));
  }
};

Bytes encode_request(const Exchange& ex) {
  Bytes payload(ex.request_bytes - proto::kHeaderSize, 0xa5);
  payload[0] = static_cast<std::uint8_t>(ex.response_bytes >> 24);
  payload[1] = static_cast<std::uint8_t>(ex.response_bytes >> 16);
  payload[2] = static_cast<std::uint8_t>(ex.response_bytes >> 8);
  payload[3] = static_cast<std::uint8_t>(ex.response_bytes);
  proto::FrameHeader header;
  header.channel = proto::Channel::SteAds;
  header.type = static_cast<std::uint8_t>(proto::MessageType::Echo);
  return proto::encode_frame(header, payload);
}

// Runs sessions on one connection until none are left or the connection fails.
asio::awaitable<void> run_sessions(std::shared_ptr<LoadState> st, net::FramedStream stream) {
  const auto& exchanges = st->plan.exchanges;
  while (st->next_session < st->plan.sessions) {
    ++st->next_session;
    const auto session_start = Clock::now();
    std::string failure;
    for (std::size_t i = 0; i < exchanges.size() && failure.empty(); ++i) {
      const auto sent_at = Clock::now();
      if (auto sent = co_await stream.write_frame(st->requests[i]); !sent.ok()) {
        failure = "write: " + sent.error().message;
        break;
      }
      auto answer = co_await stream.read_frame(st->plan.timeout);
      if (!answer.ok()) {
        failure = "read: " + answer.error().message;
        break;
      }
      if (proto::kHeaderSize + answer->payload.size() != exchanges[i].response_bytes) {
        failure = "the answer has " + std::to_string(proto::kHeaderSize + answer->payload.size()) +
                  " bytes, expected " + std::to_string(exchanges[i].response_bytes);
        break;
      }
      st->report.round_trip.record(Clock::now() - sent_at);
      ++st->report.round_trips;
      st->report.bytes_sent += exchanges[i].request_bytes;
      st->report.bytes_received += exchanges[i].response_bytes;
    }
    if (!failure.empty()) {
      st->error(std::move(failure));
      break;  // the stream is closed or out of step: this connection is done
    }
    st->report.session.record(Clock::now() - session_start);
    ++st->report.sessions_ok;
  }
  stream.close();
  if (--st->running == 0) st->finished = Clock::now();
}

asio::awaitable<void> open_and_load(std::shared_ptr<LoadState> st) {
  const auto connect_start = Clock::now();
  std::vector<net::FramedStream> streams;
  streams.reserve(st->plan.connections);
  for (std::size_t i = 0; i < st->plan.connections; ++i) {
    auto connected = co_await net::connect_tcp(st->plan.server);
    if (!connected.ok()) {
      st->error("connect: " + connected.error().message);
      continue;
    }
    streams.push_back(*connected);
  }
  st->report.connections_open = streams.size();
  st->started = Clock::now();
  st->finished = st->started;
  st->report.connect_seconds = std::chrono::duration<double>(st->started - connect_start).count();
  st->running = streams.size();
  auto executor = co_await asio::this_coro::executor;
  for (auto& stream : streams) asio::co_spawn(executor, run_sessions(st, stream), asio::detached);
}

}  // namespace

EchoReport run_echo_client(const EchoPlan& plan) {
  auto st = std::make_shared<LoadState>();
  st->plan = plan;
  for (const auto& ex : plan.exchanges) st->requests.push_back(encode_request(ex));
  st->report.round_trip.reserve(plan.sessions * plan.exchanges.size());
  st->report.session.reserve(plan.sessions);
  asio::io_context io(1);
  asio::co_spawn(io, open_and_load(st), asio::detached);
  io.run();
  st->report.run_seconds = std::chrono::duration<double>(st->finished - st->started).count();
  return std::move(st->report);
}

}  // namespace cardperso::bench
