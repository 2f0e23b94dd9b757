#include "cardperso/common/milenage.hpp"

#include <stdexcept>

#include "cardperso/common/crypto.hpp"

namespace cardperso::milenage {

namespace {
using crypto::Block;

Block xor_block(ByteView a, ByteView b) {
  Block out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] ^ b[i];
  return out;
}

// OUTn = E_K(rot(TEMP xor OPc, r) xor c) xor OPc, with r a whole number of bytes and c a single bit in the
// last byte (TS 35.206 §4.1: r1=64 r2=0 r3=32 r4=64 r5=96; c1..c5 = 0,1,2,4,8).
Block out_n(ByteView k, ByteView opc, const Block& in, unsigned rot_bytes, std::uint8_t c) {
  Block x = xor_block(in, opc);
  Block rotated{};
  for (std::size_t i = 0; i < 16; ++i) rotated[i] = x[(i + rot_bytes) % 16];
  rotated[15] ^= c;
  Block e = crypto::aes128_encrypt_block(k, rotated);
  Block out = xor_block(e, opc);
  secure_wipe(x.data(), x.size());
  secure_wipe(e.data(), e.size());
  return out;
}

void check(ByteView k, ByteView opc, ByteView rand) {
  if (k.size() != 16 || opc.size() != 16 || rand.size() != 16)
    throw std::invalid_argument("Milenage needs a 16-byte K, OPc and RAND");
}

Block temp_of(ByteView k, ByteView opc, ByteView rand) {
  Block in = xor_block(rand, opc);
  Block t = crypto::aes128_encrypt_block(k, in);
  secure_wipe(in.data(), in.size());
  return t;
}
}  // namespace

SecretBytes opc_from_op(ByteView k, ByteView op) {
  if (k.size() != 16 || op.size() != 16) throw std::invalid_argument("OPc derivation needs a 16-byte K and OP");
  Block e = crypto::aes128_encrypt_block(k, op);
  SecretBytes out(16);
  for (std::size_t i = 0; i < 16; ++i) out[i] = e[i] ^ op[i];
  secure_wipe(e.data(), e.size());
  return out;
}

F1Output f1(ByteView k, ByteView opc, ByteView rand, ByteView sqn, ByteView amf) {
  check(k, opc, rand);
  if (sqn.size() != 6 || amf.size() != 2) throw std::invalid_argument("Milenage f1 needs a 6-byte SQN and 2-byte AMF");
  Block temp = temp_of(k, opc, rand);
  Block in1{};
  for (int i = 0; i < 6; ++i) in1[i] = in1[i + 8] = sqn[i];
  for (int i = 0; i < 2; ++i) in1[6 + i] = in1[14 + i] = amf[i];
  // OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc
  Block x = xor_block(in1, opc);
  Block rotated{};
  for (std::size_t i = 0; i < 16; ++i) rotated[i] = x[(i + 8) % 16] ^ temp[i];
  Block out1 = xor_block(crypto::aes128_encrypt_block(k, rotated), opc);
  F1Output r{};
  std::copy(out1.begin(), out1.begin() + 8, r.mac_a.begin());
  std::copy(out1.begin() + 8, out1.end(), r.mac_s.begin());
  secure_wipe(temp.data(), temp.size());
  return r;
}

F2345Output f2345(ByteView k, ByteView opc, ByteView rand) {
  check(k, opc, rand);
  Block temp = temp_of(k, opc, rand);
  F2345Output r{};
  Block out2 = out_n(k, opc, temp, 0, 1);
  std::copy(out2.begin(), out2.begin() + 6, r.ak.begin());
  std::copy(out2.begin() + 8, out2.end(), r.res.begin());
  Block out3 = out_n(k, opc, temp, 4, 2);
  std::copy(out3.begin(), out3.end(), r.ck.begin());
  Block out4 = out_n(k, opc, temp, 8, 4);
  std::copy(out4.begin(), out4.end(), r.ik.begin());
  Block out5 = out_n(k, opc, temp, 12, 8);
  std::copy(out5.begin(), out5.begin() + 6, r.ak_star.begin());
  secure_wipe(temp.data(), temp.size());
  return r;
}

GsmTriplet gsm(ByteView k, ByteView opc, ByteView rand) {
  F2345Output o = f2345(k, opc, rand);
  GsmTriplet t{};
  for (int i = 0; i < 4; ++i) t.sres[i] = o.res[i] ^ o.res[i + 4];
  for (int i = 0; i < 8; ++i) t.kc[i] = o.ck[i] ^ o.ck[i + 8] ^ o.ik[i] ^ o.ik[i + 8];
  secure_wipe(&o, sizeof o);
  return t;
}

}  // namespace cardperso::milenage
