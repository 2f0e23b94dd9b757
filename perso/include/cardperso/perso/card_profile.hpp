#pragma once
// A card profile: the file tree to create on a card type and where each subscriber value goes
// (docs/personalisation.md §1). A new card type is a new profile, not new code. Parsing is strict:
// every error names the JSON path it is about.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::perso {

inline constexpr std::size_t kMaxProfileFiles = 200;
inline constexpr std::size_t kMaxFileSize = 4096;
inline constexpr std::size_t kMaxRecordLength = 255;
inline constexpr std::size_t kMaxRecordCount = 254;
inline constexpr std::size_t kMaxProfileJson = 256 * 1024;

enum class FileKind { Df, Ef };
enum class Structure { Transparent, LinearFixed, Cyclic };

// GSM 11.11 access condition nibbles (ADM written as 0A, the level our cards verify).
enum class Access : std::uint8_t { Alw = 0x0, Chv1 = 0x1, Chv2 = 0x2, Adm = 0xA, Nev = 0xF };

struct AccessRules {
  Access read = Access::Adm, update = Access::Adm, increase = Access::Adm, rehabilitate = Access::Adm,
         invalidate = Access::Adm;
};
// The 3 bytes of SELECT response bytes 8-10, the layout of CREATE FILE tag 86 (docs/cards.md §1.4).
Bytes access_bytes(const AccessRules& rules);

enum class ValueSource { Imsi, Iccid, Msisdn, Spn, Plmnsel, Sst, Acc, Ad, Ki, Opc, Hex };
std::string_view name(ValueSource source);

struct ValueSpec {
  ValueSource from = ValueSource::Hex;
  Bytes hex;                              // "hex": the content (transparent: <= size; records: whole records)
  Bytes prefix;                           // "prefix" (ki/opc): bytes written before the key, e.g. 01 before OPc
  std::vector<int> services;              // "sst": services allocated and activated
  std::uint8_t display_condition = 0x01;  // "spn"
  std::optional<std::uint8_t> ton_npi;    // "msisdn": overrides the '+' rule
  std::string alpha;                      // "msisdn": alpha identifier
  std::size_t record = 1;                 // record EFs: the record the value goes to
};

struct ProfileFile {
  std::string path;  // upper-case FIDs from 3F00, e.g. "3F00/7F20/6F07"
  std::vector<std::uint16_t> fids;  // the path as numbers, 3F00 first
  std::string name;  // optional label, e.g. "IMSI"
  FileKind kind = FileKind::Ef;
  Structure structure = Structure::Transparent;
  std::size_t size = 0;  // transparent: bytes; records: record_length * record_count
  std::size_t record_length = 0;
  std::size_t record_count = 0;
  AccessRules access;
  bool create = true;  // false: the manufacturer already made it (e.g. EF_ICCID, ADM1 on a blank card)
  std::optional<ValueSpec> value;
  bool is_secret = false;  // a code file or a key file (ki/opc): its writes are secret steps
};

enum class CodeSource { Keypad, Random };
enum class KeypadEntry { CustomerPin, CustomerPuk };

struct CodeSpec {
  std::string file;  // the code file, e.g. "3F00/0000"; listed in files
  CodeSource from = CodeSource::Keypad;
  KeypadEntry entry = KeypadEntry::CustomerPin;
  bool confirm = false;  // the keypad asks twice
};

struct AdmSpec {
  std::string file = "3F00/000A";  // where the issuer code is written
  std::uint8_t verify_p2 = 0x0A;   // VERIFY CHV P2 of ADM1
};

struct CardProfile {
  std::string name;
  std::string version;
  std::vector<ProfileFile> files;  // parents before children
  std::optional<CodeSpec> chv1, unblock1, chv2, unblock2;
  AdmSpec adm;
  std::string gsm_df = "3F00/7F20";  // where RUN GSM ALGORITHM runs

  const ProfileFile* find(std::string_view path) const;
};

Result<CardProfile> parse_card_profile(std::string_view json_text);
Result<CardProfile> load_card_profile(const std::string& file_path);

}  // namespace cardperso::perso
