#pragma once
// 3GPP TS 35.206 Milenage (f1, f1*, f2, f3, f4, f5, f5*) with the GSM conversion (TS 55.205 c2/c3:
// SRES = RES[0..3] xor RES[4..7], Kc = CK1 xor CK2 xor IK1 xor IK2). Shared by the virtual card and
// the ADS so both sides compute the same proof.
#include <array>
#include <cstdint>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::milenage {

struct F1Output {
  std::array<std::uint8_t, 8> mac_a;  // f1
  std::array<std::uint8_t, 8> mac_s;  // f1*
};

struct F2345Output {
  std::array<std::uint8_t, 8> res;      // f2
  std::array<std::uint8_t, 16> ck;      // f3
  std::array<std::uint8_t, 16> ik;      // f4
  std::array<std::uint8_t, 6> ak;       // f5
  std::array<std::uint8_t, 6> ak_star;  // f5*
};

struct GsmTriplet {
  std::array<std::uint8_t, 4> sres;
  std::array<std::uint8_t, 8> kc;
};

// OPc = AES_K(OP) xor OP.
SecretBytes opc_from_op(ByteView k, ByteView op);
F1Output f1(ByteView k, ByteView opc, ByteView rand, ByteView sqn, ByteView amf);
F2345Output f2345(ByteView k, ByteView opc, ByteView rand);
GsmTriplet gsm(ByteView k, ByteView opc, ByteView rand);

}  // namespace cardperso::milenage
