#pragma once
// The receipt the ADS sends after a card (proto::ReceiptMsg, JSON) as the text the retailer prints
// and hands over: on the terminal and, with --receipt-dir, one file per card (receipt-<iccid>.txt).
// A field whose name says it holds a code, PIN, PUK or key is never printed, whatever the ADS sent.
#include <string>
#include <string_view>

#include "cardperso/common/result.hpp"

namespace cardperso::dtd {

// Whether a receipt field name belongs to a secret (pin, puk, ki, opc, code, key, secret, ...).
bool is_secret_field(std::string_view name);

// A JSON object -> text lines "Label: value" (nested objects as "outer / inner", lists joined with
// ", "), framed by a title and a rule. Fails when the text is not a JSON object.
Result<std::string> render_receipt(std::string_view receipt_json);

// Writes `text` to DIR/receipt-<iccid>.txt (replacing an older one) and returns the path. The ICCID
// must be 1..20 digits, so it cannot name a path outside DIR.
Result<std::string> write_receipt(const std::string& dir, std::string_view iccid, std::string_view text);

}  // namespace cardperso::dtd
