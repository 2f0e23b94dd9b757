#pragma once
// The card's file model: files are addressed by their path ("3F00/7F20/6F07"), and GSM 11.11 says
// which of them a SELECT may reach from the current directory.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim::tree {

// Bounds that keep every card (created on the card or loaded from an image) small and finite.
inline constexpr std::size_t kMaxFiles = 200;
inline constexpr std::size_t kMaxEfSize = 4096;
inline constexpr std::size_t kMaxRecordLength = 255;
inline constexpr std::size_t kMaxRecords = 254;
inline constexpr std::size_t kMaxDepth = 4;           // MF / DF / DF / EF
inline constexpr std::size_t kCardMemory = 0xFFFF;    // bytes of EF bodies the card can hold
inline constexpr std::size_t kMaxPathSteps = 8;       // SELECT by path (P1 08/09)

std::string fid_text(std::uint16_t fid);
std::optional<std::uint16_t> parse_fid(std::string_view text);
std::uint16_t fid_of(std::string_view path);          // last component of a valid path
std::string parent_of(std::string_view path);         // "" for the MF
std::string child_of(std::string_view dir, std::uint16_t fid);
std::size_t depth_of(std::string_view path);          // number of components

inline bool is_directory(const CardFile& f) { return f.type != FileType::Ef; }
std::size_t record_count(const CardFile& f);

const CardFile* find(const std::vector<CardFile>& files, std::string_view path);
CardFile* find(std::vector<CardFile>& files, std::string_view path);
std::vector<const CardFile*> children_of(const std::vector<CardFile>& files, std::string_view dir);
std::size_t used_memory(const std::vector<CardFile>& files);

// GSM 11.11 §6.5 selection: the MF, a child of the current DF, the parent DF, a sibling DF, the current DF.
std::optional<std::string> select_by_fid(const std::vector<CardFile>& files, std::string_view current_df,
                                         std::uint16_t fid);
// Extension (P1 08/09): a path of FID pairs walked from start_dir, each step a child.
std::optional<std::string> select_by_path(const std::vector<CardFile>& files, std::string_view start_dir,
                                          ByteView fid_pairs);

}  // namespace cardperso::cardsim::tree
