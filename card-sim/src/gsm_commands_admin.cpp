// CREATE FILE (TS 102 222 §6.3) under ADM1: a child of the current DF, described by an FCP.
#include <variant>

#include "access_control.hpp"
#include "fcp_parser.hpp"
#include "file_tree.hpp"
#include "gsm_commands.hpp"
#include "select_response.hpp"
#include "cardperso/card/status_words.hpp"

namespace cardperso::cardsim::cmd {

Bytes create_file(CardSession& s, const Apdu& a) {
  if (a.p1 != 0x00 || a.p2 != 0x00) return card::sw::status(card::sw::kWrongP1P2);
  if (a.p3 == 0) return card::sw::status(card::sw::kWrongP3);
  if (!s.security.adm1) return card::sw::status(card::sw::kAccessDenied);
  auto parsed = parse_fcp(a.data);
  if (auto* refusal = std::get_if<std::uint16_t>(&parsed)) return card::sw::status(*refusal);
  const FcpFile& f = std::get<FcpFile>(parsed);

  auto& files = s.image.files;
  if (f.fid == tree::fid_of(s.current_df) || tree::find(files, tree::child_of(s.current_df, f.fid)))
    return card::sw::status(card::sw::kFileExists);
  if (files.size() >= tree::kMaxFiles) return card::sw::status(card::sw::kNoMemory);
  const std::size_t depth = tree::depth_of(s.current_df) + 1;
  if (depth > tree::kMaxDepth || (f.type == FileType::Df && depth >= tree::kMaxDepth))
    return card::sw::status(card::sw::kNoMemory);
  if (tree::used_memory(files) + f.size > tree::kCardMemory) return card::sw::status(card::sw::kNoMemory);

  CardFile created;
  created.path = tree::child_of(s.current_df, f.fid);
  created.type = f.type;
  if (f.type == FileType::Ef) {
    created.structure = f.structure;
    created.record_length = f.record_length;
    created.access = f.access;
    created.data.assign(f.size, 0xFF);
  }
  files.push_back(created);
  // A fresh code file holds no code yet (all FF); its counter starts full for the first UPDATE.
  if (auto key = code_key_of_path(created.path)) reset_tries(s.image, *key);
  s.mark_changed();

  // As in TS 102 222 the new file becomes the current one.
  s.record = 0;
  if (f.type == FileType::Df) {
    s.current_df = created.path;
    s.current_ef.clear();
  } else {
    s.current_ef = created.path;
  }
  return card::sw::status(card::sw::kOk);
}

}  // namespace cardperso::cardsim::cmd
