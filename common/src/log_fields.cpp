#include "cardperso/common/log_fields.hpp"

#include <cctype>

namespace cardperso {

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-'; }

// The digits right after `at` (the end of a keyword and its space), when they make a whole word.
std::optional<std::string> digits_at(std::string_view message, std::size_t at) {
  std::size_t end = at;
  while (end < message.size() && is_digit(message[end])) ++end;
  if (end == at || (end < message.size() && is_word_char(message[end]))) return std::nullopt;
  return std::string(message.substr(at, end - at));
}

// Positions right after each whole-word "keyword " in the message.
template <class Visit>
void each_keyword(std::string_view message, std::string_view keyword, Visit&& visit) {
  for (std::size_t at = message.find(keyword); at != std::string_view::npos; at = message.find(keyword, at + 1)) {
    if (at > 0 && is_word_char(message[at - 1])) continue;
    if (visit(at, at + keyword.size())) return;
  }
}

}  // namespace

LogFields log_fields(std::string_view message) {
  LogFields fields;
  each_keyword(message, "session ", [&](std::size_t, std::size_t after) {
    fields.session = digits_at(message, after);
    return fields.session.has_value();
  });
  each_keyword(message, "retailer ", [&](std::size_t, std::size_t after) {
    fields.retailer = digits_at(message, after);
    if (!fields.retailer && message.substr(after).starts_with("card "))
      fields.retailer = digits_at(message, after + 5);
    return fields.retailer.has_value();
  });
  each_keyword(message, "card ", [&](std::size_t at, std::size_t after) {
    if (message.substr(0, at).ends_with("retailer ")) return false;
    auto digits = digits_at(message, after);
    if (!digits || digits->size() < 18 || digits->size() > 22) return false;
    fields.iccid = std::move(digits);
    return true;
  });
  return fields;
}

}  // namespace cardperso
