#pragma once
// The text an enum is stored as in the database (internal to the store). One table serves both
// directions, so what is written and what is read back cannot drift apart. A table lists every
// value of its enum; a value outside it (an integer cast to the enum) has no name.
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace cardperso::ads::detail {

template <class E>
using EnumName = std::pair<E, std::string_view>;

template <class E, std::size_t N>
constexpr std::optional<std::string_view> name_of(const EnumName<E> (&names)[N], E value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
constexpr std::optional<E> parse_name(const EnumName<E> (&names)[N], std::string_view text) {
  for (const auto& [v, name] : names) {
    if (name == text) return v;
  }
  return std::nullopt;
}

}  // namespace cardperso::ads::detail
