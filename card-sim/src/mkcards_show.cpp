#include "mkcards_show.hpp"

#include <sstream>

#include "access_control.hpp"
#include "cardperso/card/file_ids.hpp"
#include "fcp_parser.hpp"
#include "file_tree.hpp"

namespace cardperso::cardsim {

namespace {
// Files whose content is a code or a key: never printed.
bool hidden(const CardFile& f) {
  return is_secret_file(f.path);
}

const char* structure_text(const CardFile& f) {
  switch (f.structure) {
    case EfStructure::LinearFixed: return "linear fixed";
    case EfStructure::Cyclic: return "cyclic";
    default: return "transparent";
  }
}

const char* key_name(std::uint8_t key) {
  switch (key) {
    case kKeyChv1: return "CHV1";
    case kKeyUnblock1: return "UNBLOCK1";
    case kKeyChv2: return "CHV2";
    case kKeyUnblock2: return "UNBLOCK2";
    case kKeyAdm1: return "ADM1";
    default: return "?";
  }
}
}  // namespace

std::string describe_image(const CardImage& image) {
  std::ostringstream out;
  out << "kind: " << (image.kind.empty() ? "(none)" : image.kind) << "\n"
      << "atr: " << to_hex(image.atr) << "\n"
      << "generation: " << image.generation << "\n"
      << "files:\n";
  for (const auto& f : image.files) {
    out << std::string(2 * tree::depth_of(f.path), ' ') << tree::fid_text(tree::fid_of(f.path));
    if (f.type != FileType::Ef) {
      out << (f.type == FileType::Mf ? " MF" : " DF") << "\n";
      continue;
    }
    out << " EF " << structure_text(f) << ", " << f.data.size() << " bytes";
    if (f.structure != EfStructure::Transparent)
      out << " (" << tree::record_count(f) << " x " << f.record_length << ")";
    out << ", access " << to_hex(access_to_bytes(f.access));
    if (f.invalidated) out << ", invalidated";
    if (is_card_key_file(f.path)) out << ": (card key, " << f.data.size() << " bytes)\n";
    else if (hidden(f)) out << ": (secret, " << f.data.size() << " bytes)\n";
    else out << ": " << to_hex(f.data) << "\n";
  }
  out << "tries left:";
  for (const auto& [key, n] : image.tries_left) out << " " << key_name(key) << "=" << n;
  out << "\n";
  if (chv1_disabled(image)) out << "CHV1 disabled\n";
  return out.str();
}

}  // namespace cardperso::cardsim
