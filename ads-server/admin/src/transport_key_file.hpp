#pragma once
// The transport key of a subscriber export: an AES-256 key the issuer and an operator's AuC share, in a
// file of 64 hex digits (whitespace around them allowed) that only its owner may read. Its key check
// value (KCV) names the key in the export's header and in the audit log, so both sides can tell they
// hold the same key without showing it.
#include <string>

#include "cardperso/common/result.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::adsctl {

inline constexpr std::size_t kTransportKeySize = 32;

// A fresh random key written to path as 64 lower-case hex digits and a newline, mode 0600; an existing
// file is refused (AlreadyExists) and left as it is.
Result<SecretBytes> create_transport_key_file(const std::string& path);
// Refused, with what to do, when the file is missing, readable by group or others, or not 64 hex digits.
Result<SecretBytes> read_transport_key_file(const std::string& path);

// The first 3 bytes of AES-256-ECB_K(16 zero bytes) as 6 upper-case hex digits: the usual KCV.
std::string key_check_value(const SecretBytes& key);

}  // namespace cardperso::adsctl
