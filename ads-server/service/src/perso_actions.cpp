#include "cardperso/ads/service/perso_actions.hpp"

#include <deque>

#include "cardperso/ads/service/session_records.hpp"

namespace cardperso::ads {

namespace {

// Runs the assessment on the pool; the caller's coroutine resumes on its own executor.
net::asio::awaitable<policy::Decision> assess_in_pool(PersoServices* services, policy::CustomerDetails details) {
  co_return services->assess(details);
}

void append(proto::Actions& out, proto::Actions more) {
  for (auto& a : more) out.push_back(std::move(a));
}

}  // namespace

net::asio::awaitable<proto::Actions> carry_out_perso(SessionServices& services, std::uint32_t id, LinkSession& s,
                                                     PersoActions actions) {
  proto::Actions out;
  std::deque<PersoAction> todo(std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
  while (!todo.empty()) {
    PersoAction action = std::move(todo.front());
    todo.pop_front();
    if (auto* seal = std::get_if<SealMessage>(&action)) {
      if (s.handshake.state() != proto::AdsHandshake::State::Established) continue;
      append(out, s.handshake.send(seal->channel, seal->type, seal->plaintext.view(), proto::Clock::now()));
    } else if (auto* assess = std::get_if<AssessCustomer>(&action)) {
      PersoServices& perso = *services.perso;
      policy::Decision decision;
      if (perso.assess_may_block() && services.blocking_pool != nullptr) {
        decision = co_await net::asio::co_spawn(*services.blocking_pool, assess_in_pool(&perso, assess->details),
                                                net::asio::use_awaitable);
      } else {
        decision = perso.assess(assess->details);
      }
      for (auto& more : s.perso->on_assessment(decision)) todo.push_back(std::move(more));
    } else if (auto* end = std::get_if<EndSession>(&action)) {
      if (s.handshake.state() == proto::AdsHandshake::State::Closed) continue;
      s.reason_override = end->reason;
      append(out, s.handshake.terminate(end->code));
    } else if (auto* line = std::get_if<LogLine>(&action)) {
      log_perso(id, *line);
    }
  }
  co_return out;
}

}  // namespace cardperso::ads
