#pragma once
// File identifiers and the card-format contract of the cardperso cards (docs/cards.md §1.2, §2):
// the GSM 11.11 FIDs we use (GSM 11.11 §10) and our proprietary ones.
//
// GSM 11.11 has no standard command to give a fresh card its first CHV1/UNBLOCK values or its Ki,
// so, like real programmable SIMs, ours keeps them in proprietary EFs: a file the card knows by its
// FID, created and written with the ordinary CREATE FILE / UPDATE BINARY under ADM, never readable
// (read access NEV, whatever was verified). Writing one of the code files sets that code and resets
// its retry counter; a code file that is absent or all FF means "not initialised".
#include <cstddef>
#include <cstdint>

namespace cardperso::card {

inline constexpr std::uint16_t kFidMf = 0x3F00;
inline constexpr std::uint16_t kFidIccid = 0x2FE2;       // MF/EF_ICCID, 10 bytes, read ALW, update NEV
inline constexpr std::uint16_t kFidDfTelecom = 0x7F10;
inline constexpr std::uint16_t kFidDfGsm = 0x7F20;
inline constexpr std::size_t kEfIccidSize = 10;
// The subscriber EFs personalisation writes (GSM 11.11 §10.3, §10.5).
inline constexpr std::uint16_t kFidImsi = 0x6F07;     // DF_GSM
inline constexpr std::uint16_t kFidPlmnSel = 0x6F30;  // DF_GSM
inline constexpr std::uint16_t kFidSst = 0x6F38;      // DF_GSM
inline constexpr std::uint16_t kFidSpn = 0x6F46;      // DF_GSM
inline constexpr std::uint16_t kFidAcc = 0x6F78;      // DF_GSM
inline constexpr std::uint16_t kFidAd = 0x6FAD;       // DF_GSM
inline constexpr std::uint16_t kFidMsisdn = 0x6F40;   // DF_TELECOM

// Proprietary code files in the MF (8 bytes each: the code, ASCII digits padded with FF, or 8 raw bytes).
inline constexpr std::uint16_t kFidChv1 = 0x0000;      // CHV1 (PIN1), 3 tries
inline constexpr std::uint16_t kFidUnblock1 = 0x0001;  // UNBLOCK CHV1 (PUK1), 10 tries
inline constexpr std::uint16_t kFidChv2 = 0x0002;      // CHV2, 3 tries
inline constexpr std::uint16_t kFidUnblock2 = 0x0003;  // UNBLOCK CHV2, 10 tries
inline constexpr std::uint16_t kFidAdm1 = 0x000A;      // ADM1: the manufacturer master code, later the issuer code; 3 tries, no unblock
// The blank SIM's card key (docs/cards.md §2.3), written by the card maker beside the master code and
// never changed: personalisation leaves it alone, and CARD PROOF is its only use.
inline constexpr std::uint16_t kFidCardKey = 0x000C;  // MF/000C: the card key, 16 bytes, read NEV, update NEV

// Proprietary key files in DF_GSM (16 bytes each), used by RUN GSM ALGORITHM (Milenage + GSM conversion).
inline constexpr std::uint16_t kFidKi = 0xFF02;
inline constexpr std::uint16_t kFidOpc = 0xFF01;

// Retailer card: serial in MF/EF_ICCID (2FE2); DF_RETAILER holds the key file, which no command reads
// (the card computes with it: docs/cards.md §2.2), and the key version, which anyone may read.
inline constexpr std::uint16_t kFidDfRetailer = 0x7F50;
inline constexpr std::uint16_t kFidRetailerKeys = 0x6F01;  // key_version(1) || K_RA || K_IA || K_S || K_D; read NEV, update ADM
inline constexpr std::size_t kRetailerKeyFileSize = 1 + 4 * 16;
inline constexpr std::uint16_t kFidRetailerKeyVersion = 0x6F02;  // key_version(1); read ALW, update ADM
inline constexpr std::size_t kRetailerNonceSize = 16;

// VERIFY CHV P2 values (GSM 11.11 §9.2.9).
inline constexpr std::uint8_t kRefChv1 = 0x01;
inline constexpr std::uint8_t kRefChv2 = 0x02;
inline constexpr std::uint8_t kRefAdm1 = 0x0A;

// GSM 11.11 §9.3 access condition nibbles. 4..E are ADM levels; all of them are satisfied by ADM1.
enum class Access : std::uint8_t { Always = 0x0, Chv1 = 0x1, Chv2 = 0x2, Adm = 0xA, Never = 0xF };

inline constexpr std::size_t kCodeSize = 8;
inline constexpr int kChvMaxTries = 3;
inline constexpr int kUnblockMaxTries = 10;
inline constexpr int kAdmMaxTries = 3;

// SELECT response layout (GSM 11.11 §9.2.1), byte offsets from 0.
inline constexpr std::size_t kMinDfResponse = 22;        // MF/DF response: 22 bytes or more
inline constexpr std::size_t kMinEfResponse = 14;        // EF response: 14 bytes or more
inline constexpr std::size_t kDfCharacteristicsByte = 13;  // b8: CHV1 disabled
inline constexpr std::size_t kDfChv1StatusByte = 18;     // b8: initialised, b1..b4: tries left
inline constexpr std::size_t kEfRecordLengthByte = 14;

}  // namespace cardperso::card
