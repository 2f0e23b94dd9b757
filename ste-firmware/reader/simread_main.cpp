// cardperso-simread: reads a GSM SIM back through PC/SC and decodes what personalisation wrote, so a
// test (or an integrator holding a card) can check a card against the issuer's records.
//   cardperso-simread [--reader NAME] [--pin-file FILE | --pin-fd N] [--json]
//                     [--run-gsm RANDHEX] [--verify-adm-hex CODE]
// Reads EF_ICCID, then (after VERIFY CHV1 when a PIN is given) IMSI, MSISDN record 1, SPN, PLMNsel,
// SST, ACC and AD. The PIN is read from a file or an inherited descriptor, never from the command line
// (argv is visible to every user), kept in SecretBytes and never printed. A wrong PIN stops the run
// after one try and says how many are left. --verify-adm-hex sends VERIFY ADM1 exactly once and prints
// the status word: ADM1 has few tries and no unblock, so the tool never retries it.
// Exit codes: 0 read, 1 usage error, 2 failed (no reader, no card, wrong PIN, not a SIM).
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/card/apdu_builders.hpp"
#include "cardperso/card/file_ids.hpp"
#include "cardperso/card/gsm7_text.hpp"
#include "cardperso/card/iccid.hpp"
#include "cardperso/card/imsi.hpp"
#include "cardperso/card/msisdn.hpp"
#include "cardperso/card/plmn.hpp"
#include "cardperso/card/service_files.hpp"
#include "cardperso/card/status_words.hpp"
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/cli/command_line.hpp"
#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/pcsc/pcsc_reader.hpp"

namespace po = boost::program_options;
using namespace cardperso;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxPinDigits = 8;
using card::kCodeSize;
constexpr std::size_t kRandSize = 16;
using card::kEfRecordLengthByte;

struct Options {
  std::string reader;
  std::string pin_file;
  int pin_fd = -1;
  bool json_output = false;
  std::optional<Bytes> rand;
  std::optional<SecretBytes> adm_code;
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string sw_hex(std::uint16_t sw) { return fmt::format("{:04X}", sw); }

// Reads at most 64 bytes: a PIN line, not a file to slurp. The first line, trailing CR/LF/spaces cut.
Result<SecretBytes> read_pin(int fd, const std::string& what) {
  SecretBytes buffer(64);
  std::size_t got = 0;
  while (got < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("cannot read the PIN from {}: {}", what, std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::size_t len = 0;
  while (len < got && buffer[len] != '\n' && buffer[len] != '\r' && buffer[len] != ' ') ++len;
  if (len < 4 || len > kMaxPinDigits)
    return fail(fmt::format("the PIN in {} must be 4 to 8 digits on the first line", what));
  for (std::size_t i = 0; i < len; ++i)
    if (buffer[i] < '0' || buffer[i] > '9') return fail(fmt::format("the PIN in {} must be digits only", what));
  // GSM 11.11: CHV as ASCII digits padded with FF to 8 bytes.
  SecretBytes pin(kCodeSize);
  for (std::size_t i = 0; i < kCodeSize; ++i) pin[i] = i < len ? buffer[i] : 0xFF;
  return pin;
}

Result<SecretBytes> load_pin(const Options& o) {
  if (!o.pin_file.empty()) {
    int fd = ::open(o.pin_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(fmt::format("cannot open the PIN file {}: {}", o.pin_file, std::strerror(errno)));
    auto pin = read_pin(fd, "file " + o.pin_file);
    ::close(fd);
    return pin;
  }
  auto pin = read_pin(o.pin_fd, fmt::format("descriptor {}", o.pin_fd));
  ::close(o.pin_fd);
  return pin;
}

class Card {
 public:
  explicit Card(cardperso::pcsc::PcscCard& card) : card_(card) {}

  Result<card::ApduResponse> send(ByteView command) {
    const card::TransmitFn transmit = [this](ByteView c) { return card_.transmit(c); };
    return card::exchange_apdu(transmit, command);
  }
  Result<card::ApduResponse> select(std::uint16_t fid) {
    return send(card::select_apdu(fid));
  }
  // Selects MF, then each FID of path; nullopt data when a file is missing (9404) or unreadable.
  struct Read {
    std::optional<Bytes> data;
    std::string note;  // why there is no data
  };
  Result<Read> read_transparent(std::initializer_list<std::uint16_t> path) {
    auto sel = select_path(path);
    if (!sel) return sel.error();
    if (!sel->ok()) return Read{std::nullopt, missing_note(sel->sw)};
    if (sel->data.size() < 4) return fail("the card's SELECT response is too short for an EF");
    const std::size_t size = get_u16(sel->data, 2);
    if (size == 0 || size > 255) return fail(fmt::format("EF size {} is not one READ BINARY", size));
    auto r = send(card::read_binary_apdu(0, static_cast<std::uint8_t>(size)));
    if (!r) return r.error();
    if (!r->ok()) return Read{std::nullopt, access_note(r->sw)};
    return Read{r->data, ""};
  }
  Result<Read> read_record(std::initializer_list<std::uint16_t> path, std::uint8_t record) {
    auto sel = select_path(path);
    if (!sel) return sel.error();
    if (!sel->ok()) return Read{std::nullopt, missing_note(sel->sw)};
    if (sel->data.size() <= kEfRecordLengthByte) return fail("the card's SELECT response is too short for an EF");
    const std::uint8_t length = sel->data[kEfRecordLengthByte];
    if (length == 0) return fail("EF is not a record file");
    auto r = send(card::read_record_apdu(record, card::kRecordAbsolute, length));
    if (!r) return r.error();
    if (!r->ok()) return Read{std::nullopt, access_note(r->sw)};
    return Read{r->data, ""};
  }
  // CHV1 tries left from the MF's SELECT response (b1..b4 of the CHV1 status byte).
  Result<int> chv1_tries_left() {
    auto mf = select(card::kFidMf);
    if (!mf) return mf.error();
    if (!mf->ok() || mf->data.size() <= card::kDfChv1StatusByte)
      return fail(fmt::format("SELECT MF answered {}; is this a GSM SIM (class A0)?", sw_hex(mf->sw)));
    return mf->data[card::kDfChv1StatusByte] & 0x0F;
  }

 private:
  Result<card::ApduResponse> select_path(std::initializer_list<std::uint16_t> path) {
    auto mf = select(card::kFidMf);
    if (!mf) return mf.error();
    if (!mf->ok()) return fail(fmt::format("SELECT MF answered {}; is this a GSM SIM (class A0)?", sw_hex(mf->sw)));
    card::ApduResponse last = *mf;
    for (auto fid : path) {
      auto r = select(fid);
      if (!r) return r.error();
      last = *r;
      if (!r->ok()) break;
    }
    return last;
  }
  static std::string missing_note(std::uint16_t sw) {
    return sw == card::sw::kNotFound ? "no such file" : "SELECT answered " + sw_hex(sw);
  }
  static std::string access_note(std::uint16_t sw) {
    return sw == card::sw::kAccessDenied ? "access denied (needs the PIN)" : "read answered " + sw_hex(sw);
  }

  cardperso::pcsc::PcscCard& card_;
};

std::optional<Options> parse(int argc, char** argv, int& exit_code) {
  Options o;
  std::string rand_hex, adm_hex;
  cli::CommandLine cl({.name = "cardperso-simread",
                       .usage = "[--reader NAME] [--pin-file PATH | --pin-fd N] [--json] [--run-gsm RAND] [--verify-adm-hex CODE]",
                       .description = "Reads a GSM SIM back through PC/SC: ICCID, IMSI, MSISDN, SPN, PLMNsel, SST, ACC, AD.",
                       .exit_codes = "0 read, 1 usage error, 2 failed (no reader, no card, wrong PIN, not a SIM)"});
  cl.options().add_options()("reader", po::value(&o.reader), "reader name (default: the first)")(
      "pin-file", po::value(&o.pin_file), "file whose first line is the card's PIN (VERIFY CHV1 before reading)")(
      "pin-fd", po::value(&o.pin_fd), "read the PIN from this inherited file descriptor instead")(
      "json", "print one JSON object instead of lines")(
      "run-gsm", po::value(&rand_hex), "RUN GSM ALGORITHM with this 16-byte RAND (hex); prints SRES and Kc")(
      "verify-adm-hex", po::value(&adm_hex),
      "VERIFY ADM1 once with this 8-byte code (hex) and print the status word (each wrong try costs one of 3)");
  po::variables_map vm;
  if (auto stop = cl.parse(argc, argv, vm)) {
    exit_code = *stop;
    return std::nullopt;
  }
  o.json_output = vm.count("json") > 0;
  auto usage = [&](const std::string& text) {
    exit_code = cl.usage_error(text);
    return std::nullopt;
  };
  if (vm.count("pin-file") && vm.count("pin-fd")) return usage("give the PIN with --pin-file or --pin-fd, not both");
  if (vm.count("pin-fd") && o.pin_fd < 0) return usage("--pin-fd must be a file descriptor number (0 or more)");
  if (vm.count("run-gsm")) {
    auto r = from_hex(rand_hex);
    if (!r || r->size() != kRandSize) return usage("--run-gsm needs 32 hex digits (a 16-byte RAND)");
    o.rand = std::move(*r);
  }
  if (vm.count("verify-adm-hex")) {
    auto c = from_hex(adm_hex);
    if (!c || c->size() != kCodeSize) return usage("--verify-adm-hex needs 16 hex digits (an 8-byte ADM1 code)");
    o.adm_code = SecretBytes(ByteView(*c));
    secure_wipe(c->data(), c->size());
  }
  return o;
}

// Collects the output both as text lines and as JSON, printed at the end in one form.
class Report {
 public:
  void add(const std::string& key, const std::string& label, json value, const std::string& text) {
    doc_[key] = std::move(value);
    lines_.push_back(fmt::format("{:<16}{}", label, text));
  }
  void missing(const std::string& key, const std::string& label, const std::string& note) {
    doc_[key] = nullptr;
    lines_.push_back(fmt::format("{:<16}({})", label, note));
  }
  void print(bool as_json) const {
    if (as_json) {
      std::cout << doc_.dump() << std::endl;
    } else {
      for (const auto& l : lines_) std::cout << l << "\n";
      std::cout.flush();
    }
  }

 private:
  json doc_ = json::object();
  std::vector<std::string> lines_;
};

int failed(const std::string& text) {
  std::cerr << "cardperso-simread: " << text << "\n";
  return 2;
}

int read_card(Card& sim, const Options& o, const std::optional<SecretBytes>& pin, Report& out) {
  auto tries = sim.chv1_tries_left();
  if (!tries) return failed(tries.error().message);
  auto iccid_ef = sim.read_transparent({card::kFidIccid});
  if (!iccid_ef) return failed(iccid_ef.error().message);
  if (!iccid_ef->data) return failed("cannot read EF_ICCID (" + iccid_ef->note + "); is this a GSM SIM?");
  auto iccid = card::decode_iccid(*iccid_ef->data);
  if (!iccid) return failed("the card's ICCID is not valid: " + iccid.error().message);
  out.add("iccid", "ICCID", *iccid, *iccid);

  if (o.adm_code) {
    auto r = sim.send(card::verify_chv_apdu(card::kRefAdm1, o.adm_code->view()).view());
    if (!r) return failed(r.error().message);
    out.add("adm_verify_sw", "ADM1 verify", sw_hex(r->sw), sw_hex(r->sw));
  }
  if (pin) {
    auto r = sim.send(card::verify_chv_apdu(card::kRefChv1, pin->view()).view());
    if (!r) return failed(r.error().message);
    if (r->sw == card::sw::kBlocked) return failed("the PIN is blocked (CHV1 has no tries left); unblock it with the PUK");
    if (r->sw == card::sw::kAccessDenied) {
      auto left = sim.chv1_tries_left();
      return failed(left ? fmt::format("wrong PIN: {} tries left", *left) : "wrong PIN");
    }
    if (r->sw == card::sw::kNoChvInitialised) return failed("the card has no PIN yet (VERIFY CHV1 answered 9802); is it personalised?");
    if (r->sw != card::sw::kOk) return failed("VERIFY CHV1 answered " + sw_hex(r->sw));
    tries = sim.chv1_tries_left();
    if (!tries) return failed(tries.error().message);
  }
  out.add("chv1_tries_left", "CHV1 tries left", *tries, std::to_string(*tries));

  auto imsi = sim.read_transparent({card::kFidDfGsm, card::kFidImsi});
  if (!imsi) return failed(imsi.error().message);
  if (imsi->data) {
    auto v = card::decode_imsi(*imsi->data);
    if (!v) return failed("EF_IMSI: " + v.error().message);
    out.add("imsi", "IMSI", *v, *v);
  } else {
    out.missing("imsi", "IMSI", imsi->note);
  }

  auto msisdn = sim.read_record({card::kFidDfTelecom, card::kFidMsisdn}, 1);
  if (!msisdn) return failed(msisdn.error().message);
  if (msisdn->data) {
    auto v = card::decode_msisdn_record(*msisdn->data);
    if (!v) return failed("EF_MSISDN record 1: " + v.error().message);
    out.add("msisdn", "MSISDN", v->number, v->number + (v->alpha.empty() ? "" : " (" + v->alpha + ")"));
  } else {
    out.missing("msisdn", "MSISDN", msisdn->note);
  }

  auto spn = sim.read_transparent({card::kFidDfGsm, card::kFidSpn});
  if (!spn) return failed(spn.error().message);
  if (spn->data) {
    auto v = card::decode_spn(*spn->data);
    if (!v) return failed("EF_SPN: " + v.error().message);
    out.add("spn", "SPN", v->name, fmt::format("\"{}\" (display condition {:02X})", v->name, v->display_condition));
  } else {
    out.missing("spn", "SPN", spn->note);
  }

  auto plmnsel = sim.read_transparent({card::kFidDfGsm, card::kFidPlmnSel});
  if (!plmnsel) return failed(plmnsel.error().message);
  if (plmnsel->data) {
    auto v = card::decode_plmnsel(*plmnsel->data);
    if (!v) return failed("EF_PLMNsel: " + v.error().message);
    json list = json::array();
    std::string text;
    for (const auto& p : *v) {
      list.push_back(card::to_string(p));
      text += (text.empty() ? "" : " ") + card::to_string(p);
    }
    out.add("plmnsel", "PLMNsel", list, text);
  } else {
    out.missing("plmnsel", "PLMNsel", plmnsel->note);
  }

  auto sst = sim.read_transparent({card::kFidDfGsm, card::kFidSst});
  if (!sst) return failed(sst.error().message);
  if (sst->data) {
    const auto services = card::decode_sst(*sst->data);
    std::string text;
    for (int s : services) text += (text.empty() ? "" : " ") + std::to_string(s);
    out.add("sst", "SST services", services, text);
  } else {
    out.missing("sst", "SST services", sst->note);
  }

  auto acc = sim.read_transparent({card::kFidDfGsm, card::kFidAcc});
  if (!acc) return failed(acc.error().message);
  if (acc->data) {
    const std::string h = upper(to_hex(*acc->data));
    out.add("acc", "ACC", h, h);
  } else {
    out.missing("acc", "ACC", acc->note);
  }

  auto ad = sim.read_transparent({card::kFidDfGsm, card::kFidAd});
  if (!ad) return failed(ad.error().message);
  if (ad->data) {
    const std::string h = upper(to_hex(*ad->data));
    out.add("ad", "AD", h, ad->data->size() >= 4 ? fmt::format("{} (MNC length {})", h, (*ad->data)[3] & 0x0F) : h);
  } else {
    out.missing("ad", "AD", ad->note);
  }

  if (o.rand) {
    auto df = sim.select(card::kFidDfGsm);
    if (!df) return failed(df.error().message);
    if (!df->ok()) return failed("SELECT DF_GSM answered " + sw_hex(df->sw) + "; the card has no GSM application");
    auto r = sim.send(card::run_gsm_algorithm_apdu(*o.rand));
    if (!r) return failed(r.error().message);
    if (r->sw == card::sw::kAccessDenied) return failed("RUN GSM ALGORITHM answered 9804: give the PIN (--pin-file)");
    if (!r->ok() || r->data.size() != 12)
      return failed(fmt::format("RUN GSM ALGORITHM answered {} with {} bytes (expected 9000 with SRES and Kc, 12 bytes)",
                                sw_hex(r->sw), r->data.size()));
    const std::string sres = upper(to_hex(ByteView(r->data).first(4)));
    const std::string kc = upper(to_hex(ByteView(r->data).subspan(4)));
    out.add("sres", "SRES", sres, sres);
    out.add("kc", "Kc", kc, kc);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto options = parse(argc, argv, exit_code);
  if (!options) return exit_code;

  std::optional<SecretBytes> pin;
  if (!options->pin_file.empty() || options->pin_fd >= 0) {
    auto loaded = load_pin(*options);
    if (!loaded) {
      std::cerr << "cardperso-simread: " << loaded.error().message << "\n";
      return 1;
    }
    pin = std::move(*loaded);
  }

  auto pcsc = cardperso::pcsc::PcscReader::open();
  if (!pcsc) return failed(pcsc.error().message);
  auto name = pcsc->pick_reader(options->reader);
  if (!name) return failed(name.error().message);
  auto connected = pcsc->connect(*name);
  if (!connected) return failed(connected.error().message);
  Card sim(*connected);
  Report report;
  report.add("reader", "Reader", *name, *name);
  if (int rc = read_card(sim, *options, pin, report); rc != 0) return rc;
  report.print(options->json_output);
  return 0;
}
