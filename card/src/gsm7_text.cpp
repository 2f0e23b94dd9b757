#include "cardperso/card/gsm7_text.hpp"

#include <algorithm>
#include <array>

namespace cardperso::card {

namespace {

// The GSM 03.38 code points of the characters we accept that are not at their ASCII position.
constexpr std::array<std::pair<char, std::uint8_t>, 3> kMoved{{{'@', 0x00}, {'$', 0x02}, {'_', 0x11}}};

bool same_as_ascii(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view(" !\"#%&'()*+,-./:;<=>?").find(c) != std::string_view::npos;
}

}  // namespace

Result<Bytes> encode_gsm7(std::string_view text) {
  Bytes out;
  for (char c : text) {
    if (same_as_ascii(c)) {
      out.push_back(static_cast<std::uint8_t>(c));
      continue;
    }
    auto it = std::find_if(kMoved.begin(), kMoved.end(), [c](const auto& m) { return m.first == c; });
    if (it == kMoved.end())
      return fail("character '" + std::string(1, c) + "' is not in the supported GSM 7-bit subset " +
                  "(letters, digits, space and !\"#%&'()*+,-./:;<=>?@$_)");
    out.push_back(it->second);
  }
  return out;
}

Result<std::string> decode_gsm7(ByteView septets) {
  std::string out;
  for (std::uint8_t b : septets) {
    if (b < 0x80 && same_as_ascii(static_cast<char>(b))) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    auto it = std::find_if(kMoved.begin(), kMoved.end(), [b](const auto& m) { return m.second == b; });
    if (it == kMoved.end()) return fail("GSM 7-bit code " + to_hex(ByteView(&b, 1)) + " is outside the supported subset");
    out.push_back(it->first);
  }
  return out;
}

Result<Bytes> encode_spn(const Spn& spn, std::size_t size) {
  if (size < 2 || size > 17) return fail("EF_SPN size must be 2..17 bytes");
  if (spn.name.size() > size - 1)
    return fail("SPN \"" + spn.name + "\" is longer than " + std::to_string(size - 1) + " characters");
  if (spn.display_condition & 0xFC) return fail("SPN display condition uses only bits 1 and 2");
  auto text = encode_gsm7(spn.name);
  if (!text) return fail("SPN: " + text.error().message);
  Bytes out{spn.display_condition};
  out.insert(out.end(), text->begin(), text->end());
  out.resize(size, 0xFF);
  return out;
}

Result<Spn> decode_spn(ByteView ef) {
  if (ef.size() < 2 || ef.size() > 17) return fail("EF_SPN: expected 2..17 bytes");
  auto body = ef.subspan(1);
  auto end = std::find(body.begin(), body.end(), std::uint8_t{0xFF});
  if (std::any_of(end, body.end(), [](std::uint8_t b) { return b != 0xFF; }))
    return fail("EF_SPN: characters after the FF padding");
  auto name = decode_gsm7(ByteView(body.data(), static_cast<std::size_t>(end - body.begin())));
  if (!name) return fail("EF_SPN: " + name.error().message);
  return Spn{ef[0], *name};
}

}  // namespace cardperso::card
