#pragma once
// Creating the files that hold the ADS's data (the database, a backup, a restore's staging copy):
// owner-only from the first byte, never over an existing file.
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"

namespace cardperso::ads {

// Creates `path` empty with mode 0600 (O_EXCL, no symlink followed). An existing file is
// Errc::AlreadyExists with `exists_message`.
//
// When the caller is root (an operator's `sudo adsctl`) and the directory belongs to another user
// (a service's state directory, e.g. /var/lib/cardperso under systemd), the file is given the
// directory's owner and group: otherwise the service, which runs as that user, could not open the
// database that adsctl made or restored for it. SQLite gives the -wal and -shm files the owner of
// the database file, so those follow.
Result<void> create_private_file(const std::string& path, std::string_view exists_message);

}  // namespace cardperso::ads
