// SELECT, STATUS, GET RESPONSE.
#include "file_tree.hpp"
#include "gsm_commands.hpp"
#include "select_response.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim::cmd {

namespace {

CodeStatus code_status(const CardImage& image, std::uint8_t key) {
  return {code_initialised(image, key), tries_left(image, key)};
}

// Answers a command that leaves data for GET RESPONSE (9F xx), or hands out a prefix of it.
Bytes offer(CardSession& s, Bytes data) {
  const std::size_t n = data.size();
  s.pending = std::move(data);
  return card::sw::status(card::sw::response_ready(n));
}

Bytes prefix(const Bytes& data, std::uint8_t p3) {
  if (p3 == 0 || p3 > data.size()) return card::sw::status(card::sw::wrong_length(data.size()));
  return card::sw::with_status(Bytes(data.begin(), data.begin() + p3), card::sw::kOk);
}

}  // namespace

Bytes directory_response_of(const CardSession& s, const std::string& dir_path) {
  const auto& files = s.image.files;
  DirectoryFacts d;
  d.fid = tree::fid_of(dir_path);
  d.is_mf = dir_path == "3F00";
  const std::size_t used = tree::used_memory(files);
  d.free_memory = used < tree::kCardMemory ? tree::kCardMemory - used : 0;
  for (const CardFile* c : tree::children_of(files, dir_path)) (tree::is_directory(*c) ? d.child_dfs : d.child_efs)++;
  d.chv1_disabled = chv1_disabled(s.image);
  for (std::uint8_t key : {kKeyChv1, kKeyUnblock1, kKeyChv2, kKeyUnblock2, kKeyAdm1})
    d.codes_initialised += code_initialised(s.image, key) ? 1 : 0;
  d.chv1 = code_status(s.image, kKeyChv1);
  d.unblock1 = code_status(s.image, kKeyUnblock1);
  d.chv2 = code_status(s.image, kKeyChv2);
  d.unblock2 = code_status(s.image, kKeyUnblock2);
  return directory_response(d);
}

Bytes select(CardSession& s, const Apdu& a) {
  if (a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  std::optional<std::string> target;
  switch (a.p1) {
    case 0x00:
      if (a.p3 != 2) return card::sw::status(card::sw::wrong_length(2));
      target = tree::select_by_fid(s.image.files, s.current_df, get_u16(a.data, 0));
      break;
    case 0x08:  // path from the MF, without 3F00
    case 0x09:  // path from the current DF
      if (a.p3 == 0 || a.p3 % 2 != 0 || a.p3 > 2 * tree::kMaxPathSteps) return card::sw::status(card::sw::kWrongP3);
      target = tree::select_by_path(s.image.files, a.p1 == 0x08 ? std::string("3F00") : s.current_df, a.data);
      break;
    default:
      return card::sw::status(card::sw::kWrongP1P2);
  }
  if (!target) return card::sw::status(card::sw::kNotFound);
  const CardFile* f = tree::find(s.image.files, *target);
  s.record = 0;
  if (tree::is_directory(*f)) {
    s.current_df = f->path;
    s.current_ef.clear();
    return offer(s, directory_response_of(s, f->path));
  }
  s.current_df = tree::parent_of(f->path);
  s.current_ef = f->path;
  return offer(s, ef_response(*f, tree::fid_of(f->path)));
}

Bytes status(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  return prefix(directory_response_of(s, s.current_df), a.p3);
}

Bytes get_response(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  // Nothing pending: 6F00 (docs/cards.md); GSM 11.11 names no better word for it.
  if (s.pending.empty()) return card::sw::status(card::sw::kTechnical);
  return prefix(s.pending, a.p3);
}

}  // namespace cardperso::cardsim::cmd
