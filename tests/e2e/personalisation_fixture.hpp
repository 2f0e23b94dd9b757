#pragma once
// End-to-end fixture for customer card personalisation, built on SecureSessionFixture (which starts
// the programs, the retailer card and keeps their logs): it adds the card stock (cardperso-mkcards
// blank batches imported with adsctl, number pools), the customer and modification files for
// dtd-agent, customer cards put in the reader through a VpcdTap (so every APDU the card got is known),
// the STE keypad script of a personalisation, the read-back with cardperso-simread, and the checks on
// the ADS database (sqlite3 C API, plus the store API for the sealed keys and codes).
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/cardsim/card_image.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/testing/sqlite_rows.hpp"
#include "personalisation_vpcd_tap.hpp"
#include "secure_session_fixture.hpp"

namespace cardperso::e2e {

// One row of a query, NULL as nullopt.
using DbRow = testing::SqlRow;

struct CardRow {
  std::string state, failed_step, failure_reason;
  int attempts = -1;
  bool has_issuer_code = false;
  bool found = false;
};

struct RecordRow {
  int version = 0;
  std::string imsi, msisdn, spn, plmnsel, retailer_serial;
  std::optional<std::int64_t> session_id;
};

struct AllocationRow {
  std::string kind, value, state;
  std::optional<std::string> iccid;
};

struct KeysFromStore {
  SecretBytes ki, opc;
};

class PersonalisationFixture : public SecureSessionFixture {
 protected:
  static constexpr const char* kOtherSerial = "8944100000000000025";
  static constexpr const char* kIccidPrefix = "8988211";
  static constexpr const char* kCustomerPin = "73918264";  // 8 digits: see kRetailerPin
  static constexpr const char* kCustomerPuk = "48151623";

  void SetUp() override;
  void TearDown() override;

  // --- stock -------------------------------------------------------------------------------------
  // cardperso-mkcards blank-batch into DIR=<tmp>/<dir_name>; returns the ICCIDs (the images are
  // DIR/<iccid>.json). new_secret: create secret_file first.
  std::vector<std::string> make_blank_cards(const std::string& secret_file, const std::string& dir_name,
                                            const std::string& prefix, int first, int count, bool new_secret = true);
  std::string card_image(const std::string& dir_name, const std::string& iccid) const;
  void import_batch(const std::string& name, const std::string& secret_file, const std::string& prefix, int first,
                    int count, const std::string& retailer);
  // enrol kSerial, one batch "shop-1" of `count` cards (secret batch.secret) assigned to it, an IMSI
  // and an MSISDN pool. Returns the ICCIDs; images in dir "cards".
  std::vector<std::string> standard_stock(int count);
  std::string retailer_image_;

  // --- requests ----------------------------------------------------------------------------------
  std::string customer_file(const std::string& name, const std::string& date_of_birth);
  std::string modify_file(const std::string& iccid, const nlohmann::json& changes);

  // --- the session -------------------------------------------------------------------------------
  // ads-server with the default profile, dtd-agent with the requests (--customer FILE / --modify FILE
  // pairs in order), --receipt-dir and --exit-after-last; the retailer card in the reader; the STE
  // with the keypad entries (the retailer PIN first). Returns false when something did not start.
  bool start_personalisation(const std::vector<std::string>& dtd_requests, const std::vector<std::string>& keypad);
  // One shop visit through ads_link_port (the ADS, or a relay before it): dtd-agent with one customer,
  // --receipt-dir and --exit-after-last; the retailer card in (started when `first`, else reinserted);
  // the STE with the retailer PIN and a new card's keypad entries.
  void start_visit(int ads_link_port, const std::string& customer, bool first);
  // Keypad entries of one new card: OK to the check, PIN, PIN again, PUK.
  static std::vector<std::string> new_card_keys();
  // One whole session with one new card: start_personalisation for Alice (of age), the retailer card
  // out, the stock card `iccid` in, personalised, pulled, the session completed. Returns the card
  // (nullptr after a failure, which the test then has) and sets *msisdn to the number shown.
  testing::CardSimProcess* personalise_one(const std::string& iccid, std::string* msisdn = nullptr);
  // Waits for "Remove retailer card" and pulls the retailer card.
  void remove_retailer_card();
  // Waits until the STE has shown `text` (exactly) at least n times.
  bool wait_display_count(const std::string& text, std::size_t n, Millis timeout);
  // Waits for a display line matching re (searched); returns the submatches.
  std::optional<std::vector<std::string>> wait_display(const std::string& re, Millis timeout);
  std::size_t display_count(const std::string& text) const;
  // After the n-th "Insert customer card": a card-sim on the image, through the tap. Returns it.
  testing::CardSimProcess* insert_customer_card(const std::string& image, std::size_t nth,
                                                std::vector<std::string> extra_args = {});
  // card-sim `remove`, waiting for its "removed" event.
  void pull(testing::CardSimProcess* sim);
  // card-sim `insert` again and wait until pcscd sees the card.
  void reinsert(testing::CardSimProcess* sim);
  // STE exits 0 after "Session ended"; dtd-agent (--exit-after-last) exits 0.
  void expect_session_completed();

  // --- what the card got -------------------------------------------------------------------------
  // APDUs of a card connection (1 = first insertion through the tap).
  std::vector<TappedApdu> apdus_of(int connection) const;
  // True when every APDU only selects, reads or asks for the card's proof (CARD PROOF): what the STE
  // does before a script, to read the ICCID and check the card. Nothing written.
  static bool only_iccid_read(const std::vector<TappedApdu>& apdus);
  // The APDUs from the first VERIFY ADM1 on: the script as the card saw it.
  static std::vector<TappedApdu> script_apdus(const std::vector<TappedApdu>& apdus);
  std::unique_ptr<VpcdTap> tap_;
  testing::CardSimProcess* retailer_sim_ = nullptr;

  // --- card images -------------------------------------------------------------------------------
  cardsim::CardImage load(const std::string& image_path);
  std::string image_text(const std::string& image_path);  // canonical JSON of the image
  int adm_tries(const std::string& image_path);
  std::optional<Bytes> file_data(const std::string& image_path, const std::string& path);

  // --- read back ---------------------------------------------------------------------------------
  struct SimRead {
    std::optional<int> exit_code;
    nlohmann::json doc;  // null unless --json output parsed
    std::string out, err;
  };
  SimRead simread(const std::vector<std::string>& args, const std::optional<std::string>& pin = std::nullopt);

  // --- database ----------------------------------------------------------------------------------
  std::vector<DbRow> query(const std::string& sql, const std::vector<std::string>& params = {});
  CardRow card_row(const std::string& iccid);
  std::vector<RecordRow> records(const std::string& iccid);
  std::vector<AllocationRow> allocations();
  std::int64_t count(const std::string& sql, const std::vector<std::string>& params = {});
  // Every number handed out (every pool's next - first) has its allocation row; none is left
  // reserved; a committed one is on a personalised card whose latest record holds it; a released one
  // belongs to no card.
  void expect_no_number_lost();

  // --- the store's secrets (for the checks only) --------------------------------------------------
  KeysFromStore keys_of(const std::string& iccid, int version);
  // The code the ADS would open the card with now: the issuer code once personalised.
  SecretBytes opening_code(const std::string& iccid, bool modification);
  SecretBytes master_code(const std::string& secret_file, const std::string& iccid);

  // --- secrets never written -----------------------------------------------------------------------
  // Every log, stdout/stderr and receipt of the run.
  std::map<std::string, std::string> every_output();
  void expect_absent_everywhere(const std::vector<std::pair<std::string, std::string>>& secrets);

  std::string receipt_dir_;
  std::string profile_path_, simread_path_;
  int dtd_port_ = 0;
  int ads_port_ = 0;  // the ADS's DTD link port, once start_personalisation started it
  std::vector<std::string> ads_extra_args_;  // more ads-server options for start_personalisation
};

std::string upper_hex(ByteView data);

}  // namespace cardperso::e2e
