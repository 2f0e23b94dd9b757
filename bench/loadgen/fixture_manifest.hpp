#pragma once
// A load fixture written down (DIR/loadgen-fixture.json) so that a later cardperso-loadgen run can
// drive ads-servers somebody else started on its database (--setup-only, then --ads-address). It
// names the files of the fixture (database, master key, retailer card images, the batch secret file)
// and each shop's retailer PIN and card range: a benchmark's throw-away test cards, written 0600 in
// the work directory like the keys beside it.
#include <string>

#include "cardperso/common/result.hpp"
#include "fixture.hpp"

namespace cardperso::bench {

std::string fixture_manifest_path(const std::string& work_dir);

Result<void> write_fixture_manifest(const Fixture& fixture, const std::string& path);
// The fixture again, the batch secret read back from its file when it has one.
Result<Fixture> read_fixture_manifest(const std::string& path);

}  // namespace cardperso::bench
