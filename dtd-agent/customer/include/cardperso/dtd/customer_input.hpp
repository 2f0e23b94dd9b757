#pragma once
// What the retailer enters at the DTD for one card (C1): a new customer's details, from a JSON file
// (`--customer FILE`, unattended runs) or interactive prompts, or a modification request for a
// personalised card (`--modify FILE`). Checked here with the same rules the ADS applies, so a typo
// is reported at the counter before anything is sent; the ADS still judges everything itself.
#include <iosfwd>
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::dtd {

struct CustomerRequest {
  proto::RequestKind kind = proto::RequestKind::NewCard;
  std::string json;    // the C1 body, compact JSON, at most proto::kMaxDetailsJson bytes
  std::string origin;  // for the log: the file or "interactive entry"; never the details themselves
};

// {"name", "date_of_birth" (YYYY-MM-DD), "address", "id_document", "id_number"} required, "email"
// optional; strings without control characters, bounded as the ADS bounds them; nothing else.
Result<CustomerRequest> parse_customer_details(std::string_view json, std::string origin);
// {"iccid": 18..20 digits, "changes": {"spn": text up to 16 characters, "plmnsel": ["MCC/MNC", ...]}}
// with at least one change.
Result<CustomerRequest> parse_modification(std::string_view json, std::string origin);

// Files of at most 64 KiB; the error names the file.
Result<CustomerRequest> load_customer_file(const std::string& path);
Result<CustomerRequest> load_modification_file(const std::string& path);

// Asks for each field on `out` and reads a line from `in` (email may be left empty); a bad value is
// asked again, up to 3 times. Fails when `in` ends.
Result<CustomerRequest> prompt_customer(std::istream& in, std::ostream& out);

}  // namespace cardperso::dtd
