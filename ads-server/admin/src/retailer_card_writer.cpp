#include "retailer_card_writer.hpp"

#include <iomanip>
#include <tuple>
#include <sstream>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/common/crypto.hpp"

namespace cardperso::adsctl {

namespace {

constexpr std::size_t kKeySize = 16;

std::string sw_text(std::uint16_t sw) {
  std::ostringstream out;
  out << std::uppercase << std::hex << std::setw(4) << std::setfill('0') << sw;
  return out.str();
}

// One APDU; a secret APDU is wiped once sent.
Result<card::ApduResponse> send(const card::TransmitFn& transmit, Bytes apdu, bool secret) {
  auto response = card::exchange_apdu(transmit, apdu);
  if (secret) secure_wipe(apdu.data(), apdu.size());
  return response;
}

Bytes bytes_of(const SecretBytes& s) { return Bytes(s.data(), s.data() + s.size()); }

// CREATE FILE of a transparent EF in the current DF with the project's default tag 86.
Bytes create_transparent_ef(std::uint16_t fid, std::size_t size, card::Access read, card::Access update) {
  card::NewFile f;
  f.kind = card::NewFileKind::Transparent;
  f.fid = fid;
  f.size = static_cast<std::uint16_t>(size);
  f.access = card::access_bytes(static_cast<std::uint8_t>(read), static_cast<std::uint8_t>(update));
  return card::create_file_apdu(f);
}

// Runs the writing steps; `touched` records whether any write reached the card.
class Writer {
 public:
  explicit Writer(const card::TransmitFn& transmit) : transmit_(transmit) {}

  WriteOutcome run(ByteView adm_code, const RetailerCardContent& c) {
    if (adm_code.size() != card::kCodeSize || c.pin.size() != card::kCodeSize ||
        c.puk.size() != card::kCodeSize || c.issuer_code.size() != card::kCodeSize) {
      return failed(CardAfterFailure::Untouched, "codes must be 8 bytes each; nothing was written");
    }
    for (const SecretBytes* k : {&c.keys.k_ra, &c.keys.k_ia, &c.keys.k_s, &c.keys.k_d})
      if (k->size() != kKeySize) return failed(CardAfterFailure::Untouched, "keys must be 16 bytes each; nothing was written");

    if (auto r = expect_ok(card::select_apdu(card::kFidMf), false, "select MF"); !r.ok) return r;
    auto verified = send(transmit_, bytes_of(card::verify_chv_apdu(card::kRefAdm1, adm_code)), true);
    if (!verified) return failed(CardAfterFailure::Untouched, "verify ADM1: " + verified.error().message +
                                                                  "; the card may have counted a try: check the code before trying again");
    if (verified->sw == card::sw::kAccessDenied) {
      return failed(CardAfterFailure::AdmRefused,
                    "the card refused the ADM code (SW 9804): one of its 3 ADM tries is used, at most 2 are left; check "
                    "the code before trying again (ADM tries never come back)");
    }
    if (verified->sw == card::sw::kBlocked) {
      return failed(CardAfterFailure::AdmRefused, "the card's ADM code is blocked (SW 9840): it can never be written; discard it");
    }
    if (verified->sw == card::sw::kNoChvInitialised) {
      return failed(CardAfterFailure::Untouched, "the card has no ADM code (SW 9802): it is not a blank SIM as a manufacturer ships it");
    }
    if (!verified->ok()) return failed(CardAfterFailure::Untouched, "verify ADM1 answered SW " + sw_text(verified->sw));

    using card::Access;
    if (auto r = write_new_ef(card::kFidChv1, c.pin.view(), Access::Never, Access::Adm, "CHV1 file 0000"); !r.ok) return r;
    if (auto r = expect_ok(card::select_apdu(card::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = write_new_ef(card::kFidUnblock1, c.puk.view(), Access::Never, Access::Adm, "UNBLOCK1 file 0001"); !r.ok) return r;
    if (auto r = expect_ok(card::select_apdu(card::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = expect_ok(card::create_file_apdu({card::NewFileKind::Df, card::kFidDfRetailer, 0, 0, 0, {}}), false, "create DF 7F50"); !r.ok) return r;

    SecretBytes key_file(card::kRetailerKeyFileSize);
    key_file[0] = c.keys.key_version;
    std::size_t at = 1;
    for (const SecretBytes* k : {&c.keys.k_ra, &c.keys.k_ia, &c.keys.k_s, &c.keys.k_d})
      for (std::size_t i = 0; i < kKeySize; ++i) key_file[at++] = (*k)[i];
    // Never readable: from now on the card only computes with the keys (docs/cards.md §2.2).
    if (auto r = write_new_ef(card::kFidRetailerKeys, key_file.view(), Access::Never, Access::Adm, "key file 7F50/6F01"); !r.ok)
      return r;
    const Bytes key_version{c.keys.key_version};
    if (auto r = write_new_ef(card::kFidRetailerKeyVersion, key_version, Access::Always, Access::Adm, "key version file 7F50/6F02");
        !r.ok)
      return r;

    // Checked as the secure terminal will use the card: after VERIFY CHV1 with the retailer's PIN,
    // each key through its command, on fresh random nonces.
    if (auto r = expect_ok(bytes_of(card::verify_chv_apdu(card::kRefChv1, c.pin.view())), true, "verify CHV1 with the new PIN"); !r.ok)
      return r;
    if (auto r = expect_ok(card::select_apdu(card::kFidDfRetailer), false, "select DF 7F50"); !r.ok) return r;
    if (auto r = check_keys(c.keys); !r.ok) return r;
    if (auto r = expect_ok(card::select_apdu(card::kFidMf), false, "select MF"); !r.ok) return r;
    if (auto r = expect_ok(card::select_apdu(card::kFidAdm1), false, "select ADM1 file 000A"); !r.ok) return r;
    auto issued = send(transmit_, card::update_binary_apdu(0, c.issuer_code.view()), true);
    if (!issued) {
      return failed(CardAfterFailure::IssuerCodeUnsure, "update ADM1 file 000A: " + issued.error().message);
    }
    if (!issued->ok()) {
      return failed(CardAfterFailure::PartlyWritten, "update ADM1 file 000A answered SW " + sw_text(issued->sw));
    }
    return WriteOutcome{true, {}};
  }

 private:
  // The card's three commands against the keys it was given: a wrong key, a key file in the wrong
  // place or a card that does not compute stops the write before the issuer code goes in.
  WriteOutcome check_keys(const cardsim::RetailerKeys& keys) {
    const Bytes rn_a = crypto::random_bytes(16), rn_b = crypto::random_bytes(16);
    auto computed = [&](Bytes apdu, const char* what) -> Result<SecretBytes> {
      auto r = send(transmit_, std::move(apdu), false);
      if (!r) return fail(std::string(what) + ": " + r.error().message);
      SecretBytes out{ByteView(r->data)};
      secure_wipe(r->data.data(), r->data.size());
      if (!r->ok()) return fail(std::string(what) + " answered SW " + sw_text(r->sw));
      return out;
    };
    auto matches = [](const Result<SecretBytes>& got, const crypto::Block& want) {
      return got.ok() && crypto::ct_equal(got->view(), want);
    };
    auto cryptogram = computed(card::retailer_cryptogram_apdu(rn_a), "RETAILER CRYPTOGRAM");
    if (!cryptogram) return failed(CardAfterFailure::PartlyWritten, "check K_RA: " + cryptogram.error().message);
    if (!matches(cryptogram, crypto::aes128_encrypt_block(keys.k_ra.view(), rn_a)))
      return failed(CardAfterFailure::PartlyWritten, "the card's K_RA differs from what was written");
    for (auto [ref, key, name] : {std::tuple{card::SessionKeyRef::Ks, &keys.k_s, "K_S"}, std::tuple{card::SessionKeyRef::Kd, &keys.k_d, "K_D"}}) {
      auto input = computed(card::session_key_input_apdu(ref, rn_a, rn_b), "SESSION KEY INPUT");
      if (!input) return failed(CardAfterFailure::PartlyWritten, std::string("check ") + name + ": " + input.error().message);
      if (!matches(input, crypto::aes128_encrypt_xor(key->view(), rn_a, rn_b)))
        return failed(CardAfterFailure::PartlyWritten, std::string("the card's ") + name + " differs from what was written");
    }
    // CHECK ISSUER must say yes to the right answer and no to a wrong one.
    crypto::Block answer = crypto::aes128_encrypt_block(keys.k_ia.view(), rn_a);
    auto right = send(transmit_, card::check_issuer_apdu(rn_a, answer), false);
    answer[0] ^= 0x01;
    auto wrong = send(transmit_, card::check_issuer_apdu(rn_a, answer), false);
    secure_wipe(answer.data(), answer.size());
    if (!right || !wrong) return failed(CardAfterFailure::PartlyWritten, "check K_IA: the card did not answer CHECK ISSUER");
    if (right->sw != card::sw::kOk || wrong->sw != card::sw::kAuthMismatch)
      return failed(CardAfterFailure::PartlyWritten, "the card's K_IA differs from what was written (CHECK ISSUER answered SW " +
                                                         sw_text(right->sw) + " / " + sw_text(wrong->sw) + ")");
    return WriteOutcome{true, {}};
  }

  WriteOutcome failed(CardAfterFailure state, std::string message) {
    if (state == CardAfterFailure::Untouched && touched_) state = CardAfterFailure::PartlyWritten;
    return WriteOutcome{false, WriteFailure{state, std::move(message)}};
  }

  WriteOutcome expect_ok(Bytes apdu, bool secret, const std::string& what) {
    const bool writes = apdu[1] == card::ins::kCreateFile || apdu[1] == card::ins::kUpdateBinary;
    if (writes) touched_ = true;
    auto r = send(transmit_, std::move(apdu), secret);
    if (!r) return failed(CardAfterFailure::Untouched, what + ": " + r.error().message);
    if (!r->ok()) {
      std::string hint;
      if (r->sw == card::sw::kFileExists) hint = " (the file exists already: this is not a blank card)";
      if (r->sw == card::sw::kNoMemory) hint = " (the card has no room left)";
      return failed(CardAfterFailure::Untouched, what + " answered SW " + sw_text(r->sw) + hint);
    }
    return WriteOutcome{true, {}};
  }

  WriteOutcome write_new_ef(std::uint16_t fid, ByteView content, card::Access read, card::Access update,
                            const std::string& what) {
    if (auto r = expect_ok(create_transparent_ef(fid, content.size(), read, update), false, "create " + what);
        !r.ok)
      return r;
    // CREATE FILE leaves the new EF selected.
    return expect_ok(card::update_binary_apdu(0, content), true, "update " + what);
  }

  const card::TransmitFn& transmit_;
  bool touched_ = false;
};

}  // namespace

WriteOutcome write_retailer_card(const card::TransmitFn& transmit, ByteView adm_code,
                                 const RetailerCardContent& content) {
  return Writer(transmit).run(adm_code, content);
}

Result<std::string> read_card_serial(const card::TransmitFn& transmit) {
  for (std::uint16_t fid : {card::kFidMf, card::kFidIccid}) {
    auto r = send(transmit, card::select_apdu(fid), false);
    if (!r) return r.error();
    if (!r->ok()) return fail("select " + sw_text(fid) + " answered SW " + sw_text(r->sw) + "; is this a SIM card?");
  }
  auto r = send(transmit, card::read_binary_apdu(0, card::kEfIccidSize), false);
  if (!r) return r.error();
  if (!r->ok()) return fail("reading EF_ICCID answered SW " + sw_text(r->sw));
  auto digits = card::decode_iccid(r->data);
  if (!digits) return fail("the card's " + digits.error().message);
  return digits;
}

}  // namespace cardperso::adsctl
