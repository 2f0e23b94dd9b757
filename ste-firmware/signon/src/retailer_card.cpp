#include "cardperso/ste/retailer_card.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/bcd_digits.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/common/crypto.hpp"
#include "cardperso/ste/card_retailer_secrets.hpp"
#include "cardperso/ste/display.hpp"
#include "cardperso/ste/keypad.hpp"
#include "cardperso/ste/status_reporter.hpp"

namespace cardperso::ste {
namespace {

using card::kCodeSize;
using card::kFidDfRetailer;
using card::kFidMf;
using card::kMinDfResponse;
using card::kMinEfResponse;
constexpr std::uint16_t kFidSerial = card::kFidIccid;
constexpr std::uint16_t kFidKeyVersion = card::kFidRetailerKeyVersion;
// EF_ICCID-style serial: 10 bytes of BCD; an ASCII serial is at most 32 characters.
constexpr std::size_t kMaxSerialFile = 32;

std::string sw_text(std::uint16_t sw) { return fmt::format("{:04X}", sw); }

// SELECT by FID; 9404 comes back as an ApduResponse, for callers that treat "absent" as an answer.
Result<card::ApduResponse> select(const card::TransmitFn& transmit, std::uint16_t fid) {
  auto r = card::exchange_apdu(transmit, card::select_apdu(fid));
  if (!r) return r.error();
  if (r->sw != card::sw::kOk && r->sw != card::sw::kNotFound)
    return fail(fmt::format("SELECT {:04X} answered {}; is this a GSM SIM (class A0)?", fid, sw_text(r->sw)));
  return r;
}

// Selects an EF that must exist and returns its size from the response (bytes 2-3).
Result<std::size_t> select_ef(const card::TransmitFn& transmit, std::uint16_t fid, std::string_view what) {
  auto r = select(transmit, fid);
  if (!r) return r.error();
  if (r->sw == card::sw::kNotFound) return fail(fmt::format("the card has no {} (EF {:04X})", what, fid));
  if (r->data.size() < kMinEfResponse)
    return fail(fmt::format("SELECT {:04X} gave a {}-byte response, too short for an EF; the card is faulty", fid,
                            r->data.size()));
  return std::size_t{get_u16(r->data, 2)};
}

Result<SecretBytes> read_binary(const card::TransmitFn& transmit, std::size_t length, std::string_view what) {
  auto raw = transmit(card::read_binary_apdu(0, static_cast<std::uint8_t>(length)));
  if (!raw) return raw.error();
  // The response may be key material: keep it in a SecretBytes and wipe the transport copy.
  SecretBytes response{ByteView(*raw)};
  secure_wipe(raw->data(), raw->size());
  if (response.size() < 2) return fail(fmt::format("reading the {}: the card's answer is too short", what));
  const std::uint16_t sw = get_u16(response.view(), response.size() - 2);
  if (sw == card::sw::kAccessDenied) return fail(fmt::format("reading the {}: access refused (9804); the PIN was not verified", what));
  if (sw != card::sw::kOk) return fail(fmt::format("reading the {}: the card answered {}", what, sw_text(sw)));
  if (response.size() - 2 != length)
    return fail(fmt::format("reading the {}: the card sent {} bytes, {} were asked for", what, response.size() - 2, length));
  return SecretBytes(response.view().first(length));
}

// BCD like EF_ICCID: low nibble first, F only as trailing padding, at least one digit.
std::optional<std::string> decode_bcd_serial(ByteView data) {
  auto digits = card::decode_swapped_bcd(data, "serial");
  if (!digits || digits->empty()) return std::nullopt;
  return *digits;
}

}  // namespace

Result<std::string> read_serial(const card::TransmitFn& transmit) {
  auto mf = select(transmit, kFidMf);
  if (!mf) return mf.error();
  if (mf->sw == card::sw::kNotFound) return fail("the card has no master file; it is not a GSM SIM");
  auto size = select_ef(transmit, kFidSerial, "serial number");
  if (!size) return size.error();
  if (*size == 0 || *size > kMaxSerialFile)
    return fail(fmt::format("the card's serial file is {} bytes (expected 1 to {}); not a retailer card", *size,
                            kMaxSerialFile));
  auto body = read_binary(transmit, *size, "serial number");
  if (!body) return body.error();
  if (auto digits = decode_bcd_serial(body->view())) return *digits;
  std::string ascii;
  for (std::uint8_t c : body->view()) {
    if (c < 0x20 || c > 0x7E) return fail("the card's serial number is neither BCD digits nor printable text");
    ascii.push_back(static_cast<char>(c));
  }
  return ascii;
}

Result<Chv1Status> read_chv1_status(const card::TransmitFn& transmit) {
  auto mf = select(transmit, kFidMf);
  if (!mf) return mf.error();
  if (mf->sw == card::sw::kNotFound) return fail("the card has no master file; it is not a GSM SIM");
  if (mf->data.size() < kMinDfResponse)
    return fail(fmt::format("SELECT MF gave a {}-byte response (at least {} expected); not a GSM SIM",
                            mf->data.size(), kMinDfResponse));
  Chv1Status status;
  status.disabled = (mf->data[card::kDfCharacteristicsByte] & 0x80) != 0;
  status.initialised = (mf->data[card::kDfChv1StatusByte] & 0x80) != 0;
  status.tries_left = mf->data[card::kDfChv1StatusByte] & 0x0F;
  return status;
}

Result<int> read_chv1_tries_left(const card::TransmitFn& transmit) {
  auto status = read_chv1_status(transmit);
  if (!status) return status.error();
  return status->tries_left;
}

Result<bool> has_retailer_df(const card::TransmitFn& transmit) {
  auto mf = select(transmit, kFidMf);
  if (!mf) return mf.error();
  auto df = select(transmit, kFidDfRetailer);
  if (!df) return df.error();
  return df->sw == card::sw::kOk;
}

Result<PinCheck> verify_pin(const card::TransmitFn& transmit, const SecretBytes& pin_digits) {
  if (pin_digits.size() < kMinPinDigits || pin_digits.size() > kMaxPinDigits)
    return fail(fmt::format("a retailer PIN has {} to {} digits", kMinPinDigits, kMaxPinDigits));
  for (std::size_t i = 0; i < pin_digits.size(); ++i)
    if (pin_digits[i] < '0' || pin_digits[i] > '9') return fail("a retailer PIN has digits only");
  SecretBytes code(kCodeSize);
  for (std::size_t i = 0; i < kCodeSize; ++i) code[i] = i < pin_digits.size() ? pin_digits[i] : std::uint8_t{0xFF};
  SecretBytes command = card::verify_chv_apdu(card::kRefChv1, code.view());
  auto raw = transmit(command.view());
  command.wipe();
  if (!raw) return raw.error();
  auto response = card::split_response(*raw);
  if (!response) return response.error();
  switch (response->sw) {
    case card::sw::kOk: return PinCheck{PinAccepted{}};
    case card::sw::kBlocked: return PinCheck{PinBlocked{}};
    case card::sw::kAccessDenied: {
      auto tries = read_chv1_tries_left(transmit);
      if (!tries) return tries.error();
      if (*tries == 0) return PinCheck{PinBlocked{}};
      return PinCheck{WrongPin{*tries}};
    }
    case card::sw::kNoChvInitialised: return fail("the card has no retailer PIN set (9802); not a retailer card");
    case card::sw::kChvContradiction: return fail("the card's PIN is disabled (9808); a retailer card must have its PIN enabled");
    default: return fail("VERIFY PIN: the card answered " + sw_text(response->sw));
  }
}

Result<std::uint8_t> read_key_version(const card::TransmitFn& transmit) {
  auto mf = select(transmit, kFidMf);
  if (!mf) return mf.error();
  auto df = select(transmit, kFidDfRetailer);
  if (!df) return df.error();
  if (df->sw == card::sw::kNotFound) return fail("the card has no retailer directory (DF 7F50); not a retailer card");
  auto size = select_ef(transmit, kFidKeyVersion, "key version file");
  if (!size) return size.error();
  if (*size != 1)
    return fail(fmt::format("the key version file is {} bytes, not 1; the card is not a valid retailer card", *size));
  auto body = read_binary(transmit, 1, "key version");
  if (!body) return body.error();
  // Back to the DF: the card computes with its keys only while DF 7F50 is the current directory.
  auto again = select(transmit, kFidDfRetailer);
  if (!again) return again.error();
  return (*body)[0];
}

Result<RetailerCredentials> sign_on(const card::TransmitFn& transmit, Keypad& keypad, Display& display) {
  return sign_on(transmit, keypad, display, no_status_reporter());
}

Result<RetailerCredentials> sign_on(const card::TransmitFn& transmit, Keypad& keypad, Display& display,
                                    StatusReporter& reporter) {
  using proto::TerminalPrompt;
  auto refuse = [&display, &reporter](std::string shown, std::string why) -> Error {
    display.show("Refused: " + shown);
    reporter.report(TerminalPrompt::Refused);
    return fail(std::move(why));
  };

  auto serial = read_serial(transmit);
  if (!serial) return refuse("card not readable", serial.error().message);
  auto is_retailer = has_retailer_df(transmit);
  if (!is_retailer) return refuse("card not readable", is_retailer.error().message);
  if (!*is_retailer)
    return refuse("not a retailer card", "the card in the reader has no retailer directory (DF 7F50); "
                                         "insert a retailer card");
  auto status = read_chv1_status(transmit);
  if (!status) return refuse("card not readable", status.error().message);
  if (!status->initialised)
    return refuse("not a retailer card", "the card has no retailer PIN set; insert a retailer card");
  if (status->disabled)
    return refuse("retailer card PIN disabled", "the retailer card's PIN is disabled; the issuer must re-enable it");
  spdlog::info("retailer card {} in the reader, {} PIN tries left", *serial, status->tries_left);
  if (status->tries_left == 0) {
    display.show("Retailer card blocked");
    reporter.report(TerminalPrompt::RetailerCardBlocked);
    return fail("the retailer card is blocked (no PIN tries left); the issuer must unblock it");
  }

  for (;;) {
    display.show("Enter retailer PIN");
    reporter.report(TerminalPrompt::EnterRetailerPin);
    auto pin = keypad.read_digits("Retailer PIN: ", kMinPinDigits, kMaxPinDigits);
    if (!pin) return refuse("no PIN entered", "PIN entry failed: " + pin.error().message);
    auto check = verify_pin(transmit, *pin);
    pin->wipe();
    if (!check) return refuse("card not readable", check.error().message);
    if (std::holds_alternative<PinBlocked>(*check)) {
      display.show("Retailer card blocked");
      reporter.report(TerminalPrompt::RetailerCardBlocked);
      return fail("the retailer card is blocked after too many wrong PINs; the issuer must unblock it");
    }
    if (const auto* wrong = std::get_if<WrongPin>(&*check)) {
      spdlog::warn("retailer card {}: wrong PIN, {} tries left", *serial, wrong->tries_left);
      display.show(fmt::format("Wrong PIN: {} tries left", wrong->tries_left));
      // CHV1's counter is 4 bits (read_chv1_status masks it), so this fits the message's bound.
      reporter.report(proto::TerminalStatus::wrong_retailer_pin(static_cast<std::uint16_t>(wrong->tries_left)));
      continue;
    }
    break;
  }

  auto key_version = read_key_version(transmit);
  if (!key_version) return refuse("not a retailer card", key_version.error().message);
  RetailerCredentials creds;
  creds.serial = *serial;
  creds.key_version = *key_version;
  creds.secrets = std::make_unique<CardRetailerSecrets>(transmit);
  // One cryptogram over a random challenge proves now, not mid-handshake, that the card can compute
  // with its keys (a card whose key file is missing or malformed answers 9408). It reveals nothing.
  if (auto probe = creds.secrets->retailer_cryptogram(crypto::random_bytes(card::kRetailerNonceSize)); !probe)
    return refuse("not a retailer card", probe.error().message);
  spdlog::info("retailer card {} signed on (key version {})", creds.serial, creds.key_version);
  display.show("Signed on: retailer " + creds.serial);
  reporter.report(TerminalPrompt::SignedOn);
  return creds;
}

}  // namespace cardperso::ste
