#pragma once
// One row of the attack table in docs/security.md, written by the attack that observed it: the
// attack tests run in parallel, each in its own process, so each writes its own file
// ($CARDPERSO_SECURITY_ROWS/<file_stem>.md) and the table is their concatenation.
#include <string>
#include <string_view>
#include <vector>

namespace cardperso::attack {

struct SecurityRow {
  std::string attack, where, expected;
  std::vector<std::string> observed;  // joined with "; "
};

// Does nothing when CARDPERSO_SECURITY_ROWS is unset or the row names no attack.
void write_security_row(const SecurityRow& row, std::string_view file_stem, bool failed);

}  // namespace cardperso::attack
