#pragma once
// The command APDUs the project sends, built in one place (GSM 11.11 §9.2; CREATE FILE: TS 102 222
// §6.3). Every builder takes its data and returns header || data with P3 = the data length; the
// callers wipe what they built from a code or a key (or get a SecretBytes).
#include <array>
#include <cstdint>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::card {

// GSM 11.11 §9.1: every command has class byte A0.
inline constexpr std::uint8_t kCla = 0xA0;

namespace ins {
inline constexpr std::uint8_t kSelect = 0xA4;
inline constexpr std::uint8_t kGetResponse = 0xC0;
inline constexpr std::uint8_t kReadBinary = 0xB0;
inline constexpr std::uint8_t kUpdateBinary = 0xD6;
inline constexpr std::uint8_t kReadRecord = 0xB2;
inline constexpr std::uint8_t kUpdateRecord = 0xDC;
inline constexpr std::uint8_t kVerifyChv = 0x20;
inline constexpr std::uint8_t kRunGsmAlgorithm = 0x88;
inline constexpr std::uint8_t kCreateFile = 0xE0;
// The retailer card's own commands (docs/cards.md §2.2): the card computes with its keys, it never
// reveals them. INS values GSM 11.11 leaves unassigned.
inline constexpr std::uint8_t kRetailerCryptogram = 0x8A;
inline constexpr std::uint8_t kCheckIssuer = 0x8C;
inline constexpr std::uint8_t kSessionKeyInput = 0x8E;
// A blank SIM's own command (docs/cards.md §2.3): the card proves it holds its card key by
// enciphering the issuer's challenge. INS unassigned in GSM 11.11.
inline constexpr std::uint8_t kCardProof = 0x86;
}  // namespace ins

// SESSION KEY INPUT P2: which of the retailer card's session keys enciphers the mixed nonces.
enum class SessionKeyRef : std::uint8_t { Ks = 0x01, Kd = 0x02 };

// READ/UPDATE RECORD P2 modes (GSM 11.11 §9.2.5).
inline constexpr std::uint8_t kRecordNext = 0x02;
inline constexpr std::uint8_t kRecordPrevious = 0x03;
inline constexpr std::uint8_t kRecordAbsolute = 0x04;

// SELECT by FID: A0 A4 00 00 02 FID. `cla` only for a caller that echoes another command's class.
Bytes select_apdu(std::uint16_t fid, std::uint8_t cla = kCla);
// SELECT by path from the MF, 3F00 left out (P1 08; docs/cards.md §1.3): path = the FIDs after the MF.
Bytes select_path_apdu(const std::vector<std::uint16_t>& path);
// GET RESPONSE of `length` bytes (00 means 256), with the class of the command it completes.
Bytes get_response_apdu(std::uint8_t length, std::uint8_t cla = kCla);
Bytes read_binary_apdu(std::uint16_t offset, std::uint8_t length);
Bytes update_binary_apdu(std::uint16_t offset, ByteView data);
Bytes read_record_apdu(std::uint8_t record, std::uint8_t mode, std::uint8_t length);
Bytes update_record_apdu(std::uint8_t record, std::uint8_t mode, ByteView data);
// VERIFY CHV (P2 = kRefChv1 / kRefChv2 / kRefAdm1) with an 8-byte code: carries the code.
SecretBytes verify_chv_apdu(std::uint8_t reference, ByteView code);
Bytes run_gsm_algorithm_apdu(ByteView rand);
// Retailer card, after VERIFY CHV1, with DF 7F50 selected. Each nonce is 16 bytes.
//   RETAILER CRYPTOGRAM A0 8A 00 00 10 RN1            -> 9F10, GET RESPONSE: AES_K_RA(RN1)
//   CHECK ISSUER        A0 8C 00 00 20 RN2 || C       -> 9000 if C = AES_K_IA(RN2), 9862 if not
//   SESSION KEY INPUT   A0 8E 00 P2 20 RN_ads || RN_ste -> 9F10, GET RESPONSE: AES_K(RN_ads XOR RN_ste)
Bytes retailer_cryptogram_apdu(ByteView rn1);
Bytes check_issuer_apdu(ByteView rn2, ByteView issuer_cryptogram);
Bytes session_key_input_apdu(SessionKeyRef key, ByteView rn_ads, ByteView rn_ste);
// Blank SIM, any state, no code needed: CARD PROOF A0 86 00 00 10 challenge -> 9F10, GET RESPONSE:
// AES_K_card(challenge). The challenge must be 16 bytes (kCardChallengeSize); any other size is a
// programmer error and throws std::invalid_argument.
Bytes card_proof_apdu(ByteView challenge);

// CREATE FILE (TS 102 222 §6.3) with the FCP tags docs/cards.md §1.4 lists: 82 descriptor, 83 FID,
// then for an EF 8A LCSI 05, 80 size (transparent only) and 86 the GSM access conditions.
enum class NewFileKind : std::uint8_t { Df, Transparent, LinearFixed, Cyclic };
struct NewFile {
  NewFileKind kind = NewFileKind::Transparent;
  std::uint16_t fid = 0;
  std::uint16_t size = 0;           // transparent EF
  std::uint16_t record_length = 0;  // linear fixed / cyclic EF
  std::uint8_t record_count = 0;
  std::array<std::uint8_t, 3> access{};  // tag 86, laid out as SELECT response bytes 8..10
};
Bytes create_file_apdu(const NewFile& file);
// Tag 86 for READ/UPDATE with INCREASE NEV and REHABILITATE/INVALIDATE ADM, the project's default.
std::array<std::uint8_t, 3> access_bytes(std::uint8_t read, std::uint8_t update, std::uint8_t increase = 0xF,
                                         std::uint8_t rehabilitate = 0xA, std::uint8_t invalidate = 0xA);

}  // namespace cardperso::card
