#pragma once
// What the retailer enters at the DTD for one card (C1): a new customer's details, from a JSON file
// (`--customer FILE`, unattended runs) or interactive prompts, or a modification request for a
// personalised card (`--modify FILE`). Checked here with the same rules the ADS applies, so a typo
// is reported at the counter before anything is sent; the ADS still judges everything itself.
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::dtd {

struct CustomerRequest {
  proto::RequestKind kind = proto::RequestKind::NewCard;
  std::string json;    // the C1 body, compact JSON, at most proto::kMaxDetailsJson bytes
  std::string origin;  // for the log: the file or "interactive entry"; never the details themselves
};

// What is wrong with a form, field by field: field name -> a phrase that follows the field's name
// ("is required", "must be written YYYY-MM-DD"); "_form" for what is tied to no one field. Empty: valid.
using FieldErrors = std::map<std::string, std::string>;
inline constexpr std::string_view kFormError = "_form";

// The fields the DTD itself requires of a new customer (the ADS's policy may require more).
std::vector<std::string> required_customer_fields();

// {"name", "date_of_birth" (YYYY-MM-DD), "address", "id_document", "id_number"} required, "email"
// optional; strings without control characters, bounded as the ADS bounds them; nothing else.
// Every bad field is reported (the console's form); parse_customer_details reports the first.
FieldErrors check_customer_details(std::string_view json);
Result<CustomerRequest> parse_customer_details(std::string_view json, std::string origin);
// {"iccid": 18..20 digits (19: the last is its Luhn digit), "changes": {"spn": text up to 16 characters,
// "plmnsel": ["MCC/MNC", ...], "msisdn": "new"}} with at least one change. Field names: iccid, spn,
// plmnsel, msisdn, _form.
FieldErrors check_modification(std::string_view json);
Result<CustomerRequest> parse_modification(std::string_view json, std::string origin);

// Files of at most 64 KiB; the error names the file.
Result<CustomerRequest> load_customer_file(const std::string& path);
Result<CustomerRequest> load_modification_file(const std::string& path);

// Asks for each field on `out` and reads a line from `in` (email may be left empty); a bad value is
// asked again, up to 3 times. Fails when `in` ends.
Result<CustomerRequest> prompt_customer(std::istream& in, std::ostream& out);

}  // namespace cardperso::dtd
