#include "cardperso/metrics/listen_address.hpp"

#include <string>

namespace cardperso::metrics {

Result<net::Endpoint> parse_listen_address(std::string_view text) {
  const bool bare_port = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  return net::parse_endpoint(bare_port ? "127.0.0.1:" + std::string(text) : std::string(text));
}

}  // namespace cardperso::metrics
