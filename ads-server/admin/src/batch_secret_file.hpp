#pragma once
// A batch secret file, as `cardperso-mkcards blank-batch --new-secret` writes it: 32 hex digits
// (surrounding whitespace allowed) or exactly 16 raw bytes, readable by its owner only.
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::adsctl {

Result<SecretBytes> read_batch_secret_file(const std::string& path);

}  // namespace cardperso::adsctl
