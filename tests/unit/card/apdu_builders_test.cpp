// The command APDUs, byte for byte as GSM 11.11 §9.2 lays them out (CREATE FILE: docs/cards.md §1.4).
#include <gtest/gtest.h>

#include <stdexcept>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"

using namespace cardperso;
using namespace cardperso::card;

TEST(ApduBuilders, SelectAndPaths) {
  EXPECT_EQ(to_hex(select_apdu(kFidMf)), "a0a40000023f00");
  EXPECT_EQ(to_hex(select_apdu(kFidIccid, 0x00)), "00a40000022fe2");  // echoes another class
  EXPECT_EQ(to_hex(select_path_apdu({kFidDfGsm, kFidImsi})), "a0a40800047f206f07");
  EXPECT_EQ(to_hex(get_response_apdu(0x17)), "a0c0000017");
}

TEST(ApduBuilders, ReadAndUpdate) {
  EXPECT_EQ(to_hex(read_binary_apdu(0, 10)), "a0b000000a");
  EXPECT_EQ(to_hex(read_binary_apdu(0x0102, 4)), "a0b0010204");
  EXPECT_EQ(to_hex(update_binary_apdu(0x00FF, hex("0102"))), "a0d600ff020102");
  EXPECT_EQ(to_hex(read_record_apdu(1, kRecordAbsolute, 14)), "a0b201040e");
  EXPECT_EQ(to_hex(update_record_apdu(0, kRecordPrevious, hex("aabb"))), "a0dc000302aabb");
}

TEST(ApduBuilders, VerifyAndRunGsm) {
  EXPECT_EQ(to_hex(verify_chv_apdu(kRefChv1, hex("31323334ffffffff")).view()), "a02000010831323334ffffffff");
  EXPECT_EQ(to_hex(verify_chv_apdu(kRefAdm1, hex("0102030405060708")).view()), "a020000a080102030405060708");
  EXPECT_EQ(to_hex(run_gsm_algorithm_apdu(hex("000102030405060708090a0b0c0d0e0f"))),
            "a088000010000102030405060708090a0b0c0d0e0f");
}

TEST(ApduBuilders, CardProof) {
  // docs/cards.md §2.3: A0 86 00 00 10 || the 16-byte challenge.
  EXPECT_EQ(ins::kCardProof, 0x86);
  EXPECT_EQ(to_hex(card_proof_apdu(hex("00112233445566778899aabbccddeeff"))),
            "a08600001000112233445566778899aabbccddeeff");
  EXPECT_THROW(card_proof_apdu(hex("00112233445566778899aabbccddee")), std::invalid_argument);
  EXPECT_THROW(card_proof_apdu(hex("00112233445566778899aabbccddeeff00")), std::invalid_argument);
  EXPECT_THROW(card_proof_apdu({}), std::invalid_argument);
}

TEST(ApduBuilders, CreateFile) {
  // docs/cards.md §1.4's example without its optional 8B tag: EF 6F78, 2 bytes, read ALW, update CHV1.
  NewFile ef;
  ef.kind = NewFileKind::Transparent;
  ef.fid = 0x6F78;
  ef.size = 2;
  ef.access = access_bytes(0x0, 0x1);
  EXPECT_EQ(to_hex(create_file_apdu(ef)), "a0e00000166214820241218302" "6f788a010580020002860301f0aa");

  NewFile df;
  df.kind = NewFileKind::Df;
  df.fid = kFidDfRetailer;
  EXPECT_EQ(to_hex(create_file_apdu(df)), "a0e000000a62088202782183027f50");

  NewFile records;
  records.kind = NewFileKind::LinearFixed;
  records.fid = kFidMsisdn;
  records.record_length = 14;
  records.record_count = 2;
  records.access = access_bytes(0x1, 0x1);
  EXPECT_EQ(to_hex(create_file_apdu(records)), "a0e000001562138205422100" "0e0283026f408a0105860311f0aa");
  records.kind = NewFileKind::Cyclic;
  EXPECT_EQ(to_hex(create_file_apdu(records)).substr(18, 2), "46");
}
