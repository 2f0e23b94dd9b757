#pragma once
// GSM 11.11 §9.2.1 SELECT / STATUS response data, returned through GET RESPONSE.
#include <cstdint>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/bytes.hpp"

namespace cardperso::cardsim {

struct CodeStatus {
  bool initialised = false;
  int tries_left = 0;
};

struct DirectoryFacts {
  std::uint16_t fid = 0;
  bool is_mf = false;
  std::size_t free_memory = 0;
  std::size_t child_dfs = 0;
  std::size_t child_efs = 0;
  bool chv1_disabled = false;
  std::size_t codes_initialised = 0;  // CHVs, UNBLOCK CHVs and ADM codes
  CodeStatus chv1, unblock1, chv2, unblock2;
};

inline constexpr std::size_t kDirectoryResponseSize = 23;
inline constexpr std::size_t kEfResponseSize = 15;

// 23 bytes: [2-3] free memory [4-5] FID [6] 01 MF/02 DF [12] 0A [13] characteristics (b8 CHV1 disabled)
// [14] #DFs [15] #EFs [16] #codes [18..21] CHV1, UNBLOCK1, CHV2, UNBLOCK2 status.
Bytes directory_response(const DirectoryFacts& d);
// 15 bytes: [2-3] size [4-5] FID [6] 04 [8..10] access [11] status [12] 02 [13] structure [14] record length.
Bytes ef_response(const CardFile& ef, std::uint16_t fid);

}  // namespace cardperso::cardsim
