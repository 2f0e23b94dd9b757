#pragma once
// A manufacturer's card file in pySim-prog CSV form (the column set of pySim-prog's `--read-csv`; docs/ads-storage.md "Stock"), parsed strictly:
// the first line is the header (names lower-cased, unknown columns ignored); it must name `iccid` and
// exactly one of `adm1`, `pin_adm`, `pin_adm_hex`. Fields may be double-quoted ("" inside quotes is a
// quote). Every row must have the header's number of fields; blank lines are skipped. Every error
// names its line. Only the ICCID and the ADM code are kept: Ki/OPc columns are ignored, because the
// ADS generates each subscriber's keys itself when it personalises the card.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::ads {

inline constexpr std::size_t kMaxCsvBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxCsvLine = 4096;
inline constexpr std::size_t kMaxCsvCards = 1000000;

struct CsvCard {
  std::size_t line = 0;  // 1-based line of the file
  std::string iccid;
  SecretBytes master_code;  // 8 bytes, encoded per the ADM column's rule
};

// `source` names the file in error messages. Refuses an ICCID given twice in the file.
Result<std::vector<CsvCard>> parse_csv_batch(std::string_view text, std::string_view source);

}  // namespace cardperso::ads
