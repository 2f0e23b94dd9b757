#include "cardperso/dtd/receipt_printer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cardperso/proto/perso_messages.hpp"

namespace cardperso::dtd {

namespace {

using json = nlohmann::ordered_json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "date_of_birth" -> "Date of birth"
std::string label(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', ' ');
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? ' ' : c);
  return out;
}

std::string scalar(const json& v) {
  if (v.is_string()) return printable(v.get<std::string>());
  if (v.is_null()) return "-";
  return v.dump();
}

void render(const json& obj, const std::string& prefix, std::string& out) {
  for (const auto& [key, value] : obj.items()) {
    if (is_secret_field(key)) continue;
    const std::string name = prefix.empty() ? label(key) : prefix + " / " + label(key);
    if (value.is_object()) {
      render(value, name, out);
    } else if (value.is_array()) {
      std::string joined;
      for (const auto& e : value) {
        if (e.is_object() || e.is_array()) continue;  // a receipt lists plain values only
        if (!joined.empty()) joined += ", ";
        joined += scalar(e);
      }
      out += name + ": " + joined + "\n";
    } else {
      out += name + ": " + scalar(value) + "\n";
    }
  }
}

}  // namespace

bool is_secret_field(std::string_view name) {
  const std::string n = lower(name);
  for (std::string_view word : {"pin", "puk", "ki", "opc", "code", "key", "secret", "password", "adm", "kc", "sres"}) {
    // Whole words of a snake_case/camel-free name: "pin", "customer_pin", "issuer_code" but not "shipping".
    std::size_t at = 0;
    while ((at = n.find(word, at)) != std::string::npos) {
      const bool start = at == 0 || !std::isalpha(static_cast<unsigned char>(n[at - 1]));
      const std::size_t end = at + word.size();
      const bool stop = end == n.size() || !std::isalpha(static_cast<unsigned char>(n[end]));
      if (start && stop) return true;
      at = end;
    }
  }
  return false;
}

Result<std::string> render_receipt(std::string_view receipt_json) {
  if (receipt_json.size() > proto::kMaxReceiptJson) return fail("the receipt is larger than the protocol allows");
  auto j = json::parse(receipt_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the receipt from the ADS is not a JSON object");
  std::string out = "==================== cardperso receipt ====================\n";
  render(j, "", out);
  out += "============================================================\n";
  return out;
}

Result<std::string> write_receipt(const std::string& dir, std::string_view iccid, std::string_view text) {
  if (iccid.empty() || iccid.size() > proto::kMaxIccidDigits ||
      !std::all_of(iccid.begin(), iccid.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fail("cannot name a receipt file after ICCID '" + printable(iccid.substr(0, 24)) + "': 1 to 20 digits expected");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("cannot create the receipt directory " + dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / ("receipt-" + std::string(iccid) + ".txt")).string();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return fail("cannot write the receipt " + tmp + "; check the directory's permissions");
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.flush();
    if (!f) return fail("writing the receipt " + tmp + " failed (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail("cannot move the receipt into place at " + path + ": " + ec.message());
  return path;
}

}  // namespace cardperso::dtd
