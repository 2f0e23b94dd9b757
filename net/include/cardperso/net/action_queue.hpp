#pragma once
// Carries out a sans-I/O core's actions in order on a coroutine. Carrying one out may produce more
// (a look-up answered, a message to seal); those join the end of the queue, so every action runs
// after the ones produced before it, as the core listed them.
#include <deque>
#include <vector>

#include "cardperso/net/asio.hpp"

namespace cardperso::net {

// step: (Action&) -> asio::awaitable<std::vector<Action>>, the actions its action produced.
template <class Action, class Step>
asio::awaitable<void> carry_out_in_order(std::vector<Action> actions, Step step) {
  std::deque<Action> todo(std::make_move_iterator(actions.begin()), std::make_move_iterator(actions.end()));
  while (!todo.empty()) {
    Action action = std::move(todo.front());
    todo.pop_front();
    for (auto& more : co_await step(action)) todo.push_back(std::move(more));
  }
}

}  // namespace cardperso::net
