#include "cardperso/net/source_address.hpp"

#include "cardperso/net/endpoint.hpp"

namespace cardperso::net {

std::string source_key(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

std::optional<std::string> source_key_of_peer(std::string_view peer) {
  auto endpoint = parse_endpoint(peer);
  if (!endpoint) return std::nullopt;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(endpoint->host, ec);
  if (ec) return std::nullopt;
  return source_key(address);
}

}  // namespace cardperso::net
