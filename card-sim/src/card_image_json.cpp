// The card image as JSON: readable with any JSON tool, every byte string as hex.
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "access_control.hpp"
#include "cardperso/cardsim/card_image.hpp"
#include "fcp_parser.hpp"
#include "file_tree.hpp"

namespace cardperso::cardsim {

using nlohmann::json;

namespace {

const char* type_name(FileType t) {
  switch (t) {
    case FileType::Mf: return "mf";
    case FileType::Df: return "df";
    default: return "ef";
  }
}

const char* structure_name(EfStructure s) {
  switch (s) {
    case EfStructure::LinearFixed: return "linear_fixed";
    case EfStructure::Cyclic: return "cyclic";
    default: return "transparent";
  }
}

std::string key_text(std::uint8_t key) {
  const std::uint8_t b[1] = {key};
  std::string t = to_hex(b);
  for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return t;
}

Error bad(const std::string& where, const std::string& what) {
  return fail("card image: " + where + ": " + what);
}

Result<std::string> get_string(const json& obj, const std::string& name, const std::string& where) {
  auto it = obj.find(name);
  const std::string field = where.empty() ? name : where + "." + name;
  if (it == obj.end()) return bad(field, "missing");
  if (!it->is_string()) return bad(field, "must be a string");
  return it->get<std::string>();
}

Result<Bytes> get_hex(const json& obj, const std::string& name, const std::string& where) {
  auto s = get_string(obj, name, where);
  if (!s) return s.error();
  auto b = from_hex(*s);
  if (!b) return bad(where.empty() ? name : where + "." + name, "not a hex string");
  return *b;
}

std::optional<std::uint8_t> parse_key(const std::string& text) {
  auto b = from_hex(text);
  if (!b || b->size() != 1) return std::nullopt;
  const std::uint8_t k = (*b)[0];
  if (k != kKeyChv1 && k != kKeyUnblock1 && k != kKeyChv2 && k != kKeyUnblock2 && k != kKeyAdm1) return std::nullopt;
  return k;
}

Result<CardFile> parse_file(const json& j, const std::string& where, const std::vector<CardFile>& earlier) {
  if (!j.is_object()) return bad(where, "must be an object");
  CardFile f;
  auto path = get_string(j, "path", where);
  if (!path) return path.error();
  f.path = *path;
  const std::size_t depth = tree::depth_of(f.path);
  if (depth == 0 || depth > tree::kMaxDepth || f.path.rfind("3F00", 0) != 0)
    return bad(where + ".path", "must be 3F00 followed by at most 3 '/'-separated FIDs");
  for (std::size_t at = 0; at < f.path.size(); at += 5) {
    if (!tree::parse_fid(std::string_view(f.path).substr(at, 4)) || (at + 4 < f.path.size() && f.path[at + 4] != '/'))
      return bad(where + ".path", "\"" + f.path + "\" is not a path of 4-digit upper-case hex FIDs");
  }
  if (tree::find(earlier, f.path)) return bad(where + ".path", "duplicate file " + f.path);

  auto type = get_string(j, "type", where);
  if (!type) return type.error();
  if (*type == "mf") f.type = FileType::Mf;
  else if (*type == "df") f.type = FileType::Df;
  else if (*type == "ef") f.type = FileType::Ef;
  else return bad(where + ".type", "must be mf, df or ef");
  if ((f.type == FileType::Mf) != (f.path == "3F00")) return bad(where + ".type", "only 3F00 is the MF");
  if (f.type != FileType::Mf) {
    const CardFile* parent = tree::find(earlier, tree::parent_of(f.path));
    if (!parent || !tree::is_directory(*parent))
      return bad(where + ".path", "parent directory of " + f.path + " must come earlier in files");
  }
  if (f.type != FileType::Ef) return f;

  auto structure = get_string(j, "structure", where);
  if (!structure) return structure.error();
  if (*structure == "transparent") f.structure = EfStructure::Transparent;
  else if (*structure == "linear_fixed") f.structure = EfStructure::LinearFixed;
  else if (*structure == "cyclic") f.structure = EfStructure::Cyclic;
  else return bad(where + ".structure", "must be transparent, linear_fixed or cyclic");

  auto access = get_hex(j, "access", where);
  if (!access) return access.error();
  if (access->size() != 3) return bad(where + ".access", "must be 3 bytes (6 hex digits) as in SELECT bytes 9-11");
  f.access = access_from_bytes(*access);

  auto data = get_hex(j, "data", where);
  if (!data) return data.error();
  f.data = std::move(*data);
  if (f.data.empty() || f.data.size() > tree::kMaxEfSize) return bad(where + ".data", "must be 1..4096 bytes");

  if (f.structure != EfStructure::Transparent) {
    auto rl = j.find("record_length");
    if (rl == j.end() || !rl->is_number_unsigned()) return bad(where + ".record_length", "missing or not a number");
    f.record_length = rl->get<std::size_t>();
    if (f.record_length == 0 || f.record_length > tree::kMaxRecordLength)
      return bad(where + ".record_length", "must be 1..255");
    if (f.data.size() % f.record_length != 0 || f.data.size() / f.record_length > tree::kMaxRecords)
      return bad(where + ".data", "must hold 1..254 whole records");
  }
  if (auto inv = j.find("invalidated"); inv != j.end()) {
    if (!inv->is_boolean()) return bad(where + ".invalidated", "must be true or false");
    f.invalidated = inv->get<bool>();
  }
  return f;
}

}  // namespace

std::string image_to_json(const CardImage& image) {
  nlohmann::ordered_json j;
  j["kind"] = image.kind;
  j["atr"] = to_hex(image.atr);
  j["generation"] = image.generation;
  auto files = nlohmann::ordered_json::array();
  for (const auto& f : image.files) {
    nlohmann::ordered_json e;
    e["path"] = f.path;
    e["type"] = type_name(f.type);
    if (f.type == FileType::Ef) {
      e["structure"] = structure_name(f.structure);
      if (f.structure != EfStructure::Transparent) e["record_length"] = f.record_length;
      const auto ac = access_to_bytes(f.access);
      e["access"] = to_hex(ac);
      if (f.invalidated) e["invalidated"] = true;
      e["data"] = to_hex(f.data);
    }
    files.push_back(std::move(e));
  }
  j["files"] = std::move(files);
  auto tries = nlohmann::ordered_json::object();
  for (const auto& [key, n] : image.tries_left) tries[key_text(key)] = n;
  j["tries_left"] = std::move(tries);
  auto disabled = nlohmann::ordered_json::object();
  for (const auto& [key, d] : image.chv_disabled)
    if (d) disabled[key_text(key)] = true;
  j["chv_disabled"] = std::move(disabled);
  return j.dump(1);
}

Result<CardImage> image_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail("card image: not valid JSON; check the file was written completely");
  if (!j.is_object()) return bad("top level", "must be a JSON object");
  CardImage image;
  if (auto k = j.find("kind"); k != j.end()) {
    if (!k->is_string()) return bad("kind", "must be a string");
    image.kind = k->get<std::string>();
  }
  auto atr = get_hex(j, "atr", "");
  if (!atr) return atr.error();
  if (atr->size() < 2 || atr->size() > 33) return bad("atr", "must be 2..33 bytes");
  image.atr = std::move(*atr);
  if (auto g = j.find("generation"); g != j.end()) {
    if (!g->is_number_unsigned()) return bad("generation", "must be a non-negative integer");
    image.generation = g->get<std::uint64_t>();
  }

  auto files = j.find("files");
  if (files == j.end() || !files->is_array() || files->empty()) return bad("files", "missing or empty");
  if (files->size() > tree::kMaxFiles) return bad("files", "more than 200 files");
  for (std::size_t i = 0; i < files->size(); ++i) {
    const std::string where = "files[" + std::to_string(i) + "]";
    auto f = parse_file((*files)[i], where, image.files);
    if (!f) return f.error();
    if (i == 0 && f->type != FileType::Mf) return bad(where, "the first file must be the MF 3F00");
    image.files.push_back(std::move(*f));
  }
  std::size_t used = tree::used_memory(image.files);
  if (used > tree::kCardMemory) return bad("files", "more data than the card holds (65535 bytes)");

  if (auto t = j.find("tries_left"); t != j.end()) {
    if (!t->is_object()) return bad("tries_left", "must be an object");
    for (const auto& [name, value] : t->items()) {
      auto key = parse_key(name);
      if (!key) return bad("tries_left." + name, "unknown key reference (01, 81, 02, 82, 0A)");
      if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > max_tries(*key))
        return bad("tries_left." + name, "must be 0.." + std::to_string(max_tries(*key)));
      image.tries_left[*key] = value.get<int>();
    }
  }
  if (auto d = j.find("chv_disabled"); d != j.end()) {
    if (!d->is_object()) return bad("chv_disabled", "must be an object");
    for (const auto& [name, value] : d->items()) {
      if (parse_key(name) != kKeyChv1) return bad("chv_disabled." + name, "only CHV1 (01) can be disabled");
      if (!value.is_boolean()) return bad("chv_disabled." + name, "must be true or false");
      if (value.get<bool>()) image.chv_disabled[kKeyChv1] = true;
    }
  }
  return image;
}

}  // namespace cardperso::cardsim
