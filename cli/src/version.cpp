#include "cardperso/cli/version_text.hpp"

#include "cardperso/cli/version.hpp"
#include "cardperso/proto/link.hpp"

namespace cardperso::cli {

std::string version_text(const std::string& program) {
  return program + " (cardperso) " + kProjectVersion + ", wire protocol " +
         std::to_string(proto::kMinSupportedVersion) + ".." + std::to_string(proto::kMaxSupportedVersion);
}

}  // namespace cardperso::cli
