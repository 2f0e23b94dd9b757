#pragma once
// --print-config: the effective settings (command line, then --config file, then defaults) in the
// --config syntax, one `name = value` a line in --help order, so the output can be saved as a config
// file. The value of a secret option is printed as <secret>. The syntax has no quoting: a value
// holding '#' or starting or ending with blanks does not read back the same (no option takes one).
#include <boost/program_options.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cardperso::cli {

namespace po = boost::program_options;

// The one list of which options hold a secret in their value: a PIN or PUK (--pin, --puk), a code
// or key in hex (--card-code-hex, --issuer-code-hex, --verify-adm-hex, ...), a pairing code
// (dtd-agent --pair), a password, raw APDUs (cardperso-apdu: a VERIFY carries a PIN in clear).
// Options that only name where a secret is (--pin-file, --pin-fd, --secret-file, --master-key,
// --pairing-file) are not secrets: the path prints, the secret stays in its file. A switch (no
// value) is never a secret.
bool is_secret_option(std::string_view name, bool takes_value);

// `given`: the options the command line and the file gave, in that order (their text as typed).
std::string print_config(const po::options_description& options, const po::variables_map& vm,
                         const std::vector<po::option>& given);

}  // namespace cardperso::cli
