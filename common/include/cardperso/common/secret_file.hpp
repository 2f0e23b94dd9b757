#pragma once
// Small secret files (a pairing key, a device key): created once with mode 0600 and never replaced
// by accident, read only when no one but the owner can read them.
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso {

// Creates path with mode 0600 and writes text (O_EXCL: an existing file is AlreadyExists, untouched).
Result<void> create_secret_file(const std::string& path, const SecretBytes& text);
// The whole file, at most max_size bytes. Refused (with the chmod to run) when the file is not a
// regular file or group or others may read it.
Result<SecretBytes> read_secret_file(const std::string& path, std::size_t max_size);

}  // namespace cardperso
