#pragma once
// dtd-agent --ads: one or more ADS addresses, in order of preference. The option may be repeated and
// each value may be a comma-separated list (`--ads a:7000,b:7000 --ads c:7000`, or `ads = ...` lines
// in the config file); blanks around the commas are ignored.
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace cardperso::dtd {

// The addresses in the order given; an error names the option and the address at fault (an empty
// entry, an address that does not parse, port 0, the same address twice).
Result<std::vector<net::Endpoint>> parse_ads_addresses(const std::vector<std::string>& values);

}  // namespace cardperso::dtd
