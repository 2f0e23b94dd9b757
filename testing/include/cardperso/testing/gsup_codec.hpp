#pragma once
// GSUP over IPA as osmo-hlr 1.5.0 speaks it (libosmocore 1.7 gsup.c / ipa.c), sans I/O: byte vectors
// in, byte vectors or values out, so the encoding is checked against hand-built bytes without a
// server. Only what a test needs to ask an HLR for authentication tuples: the IPA frame, the IPA
// identity answer (CCM), SendAuthInfo request, result and error.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::testing::gsup {

// IPA: u16 big-endian length of what follows the 3-byte header, then the protocol byte.
inline constexpr std::uint8_t kIpaProtoCcm = 0xFE;   // IPA connection management
inline constexpr std::uint8_t kIpaProtoOsmo = 0xEE;  // Osmocom extension: one more byte says which
inline constexpr std::uint8_t kIpaExtGsup = 0x05;
// CCM message types (first payload byte of a kIpaProtoCcm frame).
inline constexpr std::uint8_t kCcmPing = 0x00;
inline constexpr std::uint8_t kCcmPong = 0x01;
inline constexpr std::uint8_t kCcmIdGet = 0x04;
inline constexpr std::uint8_t kCcmIdResp = 0x05;
inline constexpr std::uint8_t kCcmIdAck = 0x06;
// CCM identity tags osmo-hlr needs: UNIT must be present, SERNR names the peer (its routing key).
inline constexpr std::uint8_t kIdTagSerialNumber = 0x00;
inline constexpr std::uint8_t kIdTagUnit = 0x08;

// GSUP message types and information elements (libosmocore include/osmocom/gsm/gsup.h).
inline constexpr std::uint8_t kSendAuthInfoRequest = 0x08;
inline constexpr std::uint8_t kSendAuthInfoError = 0x09;
inline constexpr std::uint8_t kSendAuthInfoResult = 0x0A;
inline constexpr std::uint8_t kIeImsi = 0x01;
inline constexpr std::uint8_t kIeCause = 0x02;
inline constexpr std::uint8_t kIeAuthTuple = 0x03;
inline constexpr std::uint8_t kIeRand = 0x20;
inline constexpr std::uint8_t kIeSres = 0x21;
inline constexpr std::uint8_t kIeKc = 0x22;
inline constexpr std::uint8_t kIeIk = 0x23;
inline constexpr std::uint8_t kIeCk = 0x24;
inline constexpr std::uint8_t kIeAutn = 0x25;
inline constexpr std::uint8_t kIeRes = 0x27;
inline constexpr std::uint8_t kIeNumVectorsRequested = 0x52;
// osmo-hlr never sends more (OSMO_GSUP_MAX_NUM_AUTH_INFO); more on the wire is refused.
inline constexpr std::size_t kMaxAuthTuples = 5;
// Far above any answer to our requests (5 tuples are ~520 bytes): a larger frame is garbage.
inline constexpr std::size_t kMaxIpaPayload = 8192;

struct IpaFrame {
  std::uint8_t protocol = 0;
  Bytes payload;  // what follows the 3-byte header
};

// One whole IPA frame.
Bytes encode_ipa_frame(std::uint8_t protocol, ByteView payload);
// Takes the first whole frame off the front of buffer. nullopt: the buffer holds only part of one
// (read more). An error (Errc::Corrupt) when the announced length exceeds max_payload; the buffer is
// then left as it was and the stream cannot be resynchronised.
Result<std::optional<IpaFrame>> take_ipa_frame(Bytes& buffer, std::size_t max_payload = kMaxIpaPayload);

// The identity answer to the server's ID_GET, as a whole frame: the UNIT and SERNR entries, each a
// u16 big-endian length (counting the tag byte and the value), the tag, the value NUL-terminated.
// Fails when a value is empty, holds a NUL or is too long for the u8 osmo-hlr keeps of that length.
Result<Bytes> encode_ccm_id_resp(const std::string& unit, const std::string& serial_number);
// The answer to a PING, as a whole frame.
Bytes encode_ccm_pong();

// An IMSI as GSUP carries it: TBCD, low nibble first, 0xF filling the last octet of an odd count.
// 6 to 15 decimal digits, as osmo-hlr accepts.
Result<Bytes> encode_imsi_tbcd(const std::string& imsi);
Result<std::string> decode_imsi_tbcd(ByteView tbcd);

// The GSUP message (no IPA header) asking for authentication tuples; num_vectors 1..5 adds the
// "number of vectors requested" IE, 0 leaves the count to the HLR (it sends 5).
Result<Bytes> encode_send_auth_info_request(const std::string& imsi, int num_vectors = 0);
// A GSUP message in its IPA frame (protocol 0xEE, extension 0x05).
Bytes encode_gsup_frame(ByteView gsup_message);

struct AuthTuple {
  Bytes rand, sres, kc;     // 16, 4 and 8 bytes: present for every tuple osmo-hlr sends
  Bytes ik, ck, autn, res;  // 16, 16, 16 and 4..16 bytes with 3G (Milenage) data, empty otherwise
};

struct GsupAnswer {
  std::uint8_t message_type = 0;
  std::string imsi;
  std::vector<AuthTuple> tuples;
  std::optional<std::uint8_t> cause;  // GMM cause of an error answer (TS 24.008 10.5.5.14)
};

// Decodes a GSUP message (no IPA header): the type, the IMSI (which GSUP puts first) and the IEs
// above; other IEs are skipped. Errc::Corrupt on a truncated IE, an IE of a wrong size, or more
// than kMaxAuthTuples tuples.
Result<GsupAnswer> decode_gsup_message(ByteView message);

// "IMSI unknown in HLR" and the other causes osmo-hlr sends; "cause N" for the rest.
std::string gmm_cause_name(std::uint8_t cause);

}  // namespace cardperso::testing::gsup
