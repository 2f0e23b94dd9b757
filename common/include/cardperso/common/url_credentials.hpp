#pragma once
// A connection URL may carry a password (postgresql://user:password@host/db, or ?password=...).
// Wherever such a URL is shown — messages, logs, --print-config, audit subjects — it goes through
// this first.
#include <string>
#include <string_view>

namespace cardperso {

// The URL with any password replaced by "***"; text that is not a URL comes back unchanged.
std::string redact_url_credentials(std::string_view url);

}  // namespace cardperso
