#include "cardperso/ads/store/csv_batch.hpp"

#include <gtest/gtest.h>

namespace cardperso::ads {
namespace {

std::string error_of(std::string_view text) {
  auto r = parse_csv_batch(text, "cards.csv");
  return r ? std::string("(no error)") : r.error().message;
}

TEST(CsvBatchTest, PysimProgDocExampleWithQuotesAndAdm1) {
  auto cards = parse_csv_batch(
      "\"imsi\",\"iccid\",\"acc\",\"ki\",\"opc\",\"adm1\"\n"
      "\"999700000053010\",\"8988211000000530108\",\"0001\",\"51ACE8BD\",\"E5A00E8D\",\"65942330\"\n",
      "cards.csv");
  ASSERT_TRUE(cards.ok()) << cards.error().message;
  ASSERT_EQ(cards->size(), 1u);
  EXPECT_EQ((*cards)[0].iccid, "8988211000000530108");
  EXPECT_EQ((*cards)[0].line, 2u);
  EXPECT_EQ(to_hex((*cards)[0].master_code.view()), "3635393432333330");
}

TEST(CsvBatchTest, HeaderIsCaseInsensitiveAndEveryAdmColumnEncodes) {
  auto a = parse_csv_batch("ICCID,PIN_ADM\r\n8988211000000000011,1234\r\n\r\n", "f");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(to_hex((*a)[0].master_code.view()), "31323334ffffffff");
  auto h = parse_csv_batch("name,iccid,pin_adm_hex\nx,8988211000000000029,A5FC09E1663772C8\n", "f");
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(to_hex((*h)[0].master_code.view()), "a5fc09e1663772c8");
}

TEST(CsvBatchTest, ErrorsNameTheLine) {
  EXPECT_EQ(error_of(""), "cards.csv: the file is empty; expected a header line and one line per card");
  EXPECT_EQ(error_of("iccid,adm1\n"), "cards.csv: the file has a header but no cards");
  EXPECT_EQ(error_of("imsi,adm1\n1,2\n"),
            "cards.csv line 1: the header has no iccid column (the first line must name the columns)");
  EXPECT_EQ(error_of("iccid,ki\n8988211000000000011,00\n"),
            "cards.csv line 1: the header has no adm1, pin_adm or pin_adm_hex column");
  EXPECT_EQ(error_of("iccid,adm1,pin_adm_hex\n"),
            "cards.csv line 1: the header has more than one ADM column (adm1, pin_adm_hex); keep exactly one");
  EXPECT_EQ(error_of("iccid,adm1\n8988211000000000011,1234\n8988211000000000029\n"),
            "cards.csv line 3: has 1 fields, the header has 2");
  EXPECT_EQ(error_of("iccid,adm1\n898821100000000001X,1234\n"),
            "cards.csv line 2: an ICCID is 18 to 20 decimal digits (got \"898821100000000001X\")");
  EXPECT_EQ(error_of("iccid,adm1\n8988211000000000011,123456789\n"),
            "cards.csv line 2: ADM code of ICCID 8988211000000000011 must be 1 to 8 decimal digits");
  EXPECT_EQ(error_of("iccid,pin_adm_hex\n8988211000000000011,1234\n"),
            "cards.csv line 2: ADM code of ICCID 8988211000000000011 must be exactly 16 hex digits");
  EXPECT_EQ(error_of("iccid,adm1\n8988211000000000011,1234\n\n8988211000000000011,5678\n"),
            "cards.csv line 4: ICCID 8988211000000000011 is already on line 2");
  EXPECT_EQ(error_of("iccid,adm1\n\"8988211000000000011,1234\n"), "cards.csv line 2: a quoted field is not closed");
  EXPECT_EQ(error_of("iccid,adm1\n89882110\"00000000011,1234\n"),
            "cards.csv line 2: a quote inside an unquoted field");
}

TEST(CsvBatchTest, OversizedInputIsRefused) {
  EXPECT_EQ(error_of("iccid,adm1\n" + std::string(kMaxCsvLine + 1, '1') + "\n"),
            "cards.csv line 2: line longer than 4096 characters");
  std::string huge(kMaxCsvBytes + 1, '\n');
  EXPECT_NE(error_of(huge).find("file too large"), std::string::npos);
}

}  // namespace
}  // namespace cardperso::ads
