#include "cardperso/pcsc/pcsc_reader.hpp"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

namespace cardperso::pcsc {

// How long a failed transmit waits for pcscd to confirm that the card is gone. pcscd polls vpcd
// (and serial readers) every 400 ms, so a card pulled mid-command shows as absent within that.
constexpr std::chrono::milliseconds kRemovalConfirmWait{900};
// Waits are cut in slices so a reader unplugged while we wait is noticed by re-listing.
constexpr std::chrono::milliseconds kWaitSlice{1000};

namespace {

std::string pcsc_text(LONG rv) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(rv));
  return std::string(pcsc_stringify_error(rv)) + " (" + code + ")";
}

bool is_service_gone(LONG rv) { return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED; }

Error service_error(LONG rv) {
  return fail("no PC/SC service (is pcscd running?): " + pcsc_text(rv));
}

Error reader_gone(const std::string& reader, LONG rv) {
  return fail("reader '" + reader + "' is gone (unplugged, or pcscd restarted): " + pcsc_text(rv) +
              "; reconnect the reader and try again");
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out.empty() ? "none" : out;
}

}  // namespace

class PcscContext {
 public:
  static Result<std::shared_ptr<PcscContext>> establish() {
    SCARDCONTEXT ctx = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx);
    if (rv != SCARD_S_SUCCESS) {
      if (is_service_gone(rv)) return service_error(rv);
      return fail("cannot open a PC/SC context: " + pcsc_text(rv));
    }
    return std::shared_ptr<PcscContext>(new PcscContext(ctx));
  }
  ~PcscContext() { SCardReleaseContext(ctx_); }
  PcscContext(const PcscContext&) = delete;
  PcscContext& operator=(const PcscContext&) = delete;
  SCARDCONTEXT get() const { return ctx_; }

 private:
  explicit PcscContext(SCARDCONTEXT ctx) : ctx_(ctx) {}
  SCARDCONTEXT ctx_;
};

namespace {

Result<std::vector<std::string>> list_on(const PcscContext& ctx) {
  // The list can change between the size query and the fetch; retry on SCARD_E_INSUFFICIENT_BUFFER.
  for (int attempt = 0; attempt < 5; ++attempt) {
    DWORD size = 0;
    LONG rv = SCardListReaders(ctx.get(), nullptr, nullptr, &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (is_service_gone(rv)) return service_error(rv);
    if (rv != SCARD_S_SUCCESS) return fail("listing PC/SC readers failed: " + pcsc_text(rv));
    std::string buffer(size, '\0');
    rv = SCardListReaders(ctx.get(), nullptr, buffer.data(), &size);
    if (rv == SCARD_E_INSUFFICIENT_BUFFER) continue;
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (is_service_gone(rv)) return service_error(rv);
    if (rv != SCARD_S_SUCCESS) return fail("listing PC/SC readers failed: " + pcsc_text(rv));
    buffer.resize(size);
    // A multi-string: names separated by NUL, ended by an empty name.
    std::vector<std::string> names;
    for (const char* p = buffer.c_str(); p < buffer.data() + buffer.size() && *p != '\0'; p += std::strlen(p) + 1) {
      names.emplace_back(p);
    }
    return names;
  }
  return fail("the PC/SC reader list kept changing while it was read; try again");
}

// The reader's state right now (SCARD_STATE_* bits), with no wait.
Result<DWORD> reader_state(const PcscContext& ctx, const std::string& reader) {
  SCARD_READERSTATE state{};
  state.szReader = reader.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  LONG rv = SCardGetStatusChange(ctx.get(), 0, &state, 1);
  if (is_service_gone(rv)) return service_error(rv);
  if (rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE) return reader_gone(reader, rv);
  if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) return fail("reading the state of reader '" + reader + "' failed: " + pcsc_text(rv));
  if (state.dwEventState & SCARD_STATE_UNKNOWN) return reader_gone(reader, SCARD_E_UNKNOWN_READER);
  return static_cast<DWORD>(state.dwEventState);
}

bool card_in(DWORD state) { return (state & SCARD_STATE_PRESENT) && !(state & SCARD_STATE_MUTE); }

}  // namespace

// --- PcscCard ---

PcscCard::PcscCard(std::shared_ptr<PcscContext> context, std::string reader, long handle, unsigned long protocol)
    : context_(std::move(context)), reader_(std::move(reader)), handle_(handle), protocol_(protocol) {}

PcscCard::~PcscCard() {
  if (context_) SCardDisconnect(static_cast<SCARDHANDLE>(handle_), SCARD_LEAVE_CARD);
}

PcscCard::PcscCard(PcscCard&& other) noexcept
    : context_(std::move(other.context_)), reader_(std::move(other.reader_)), handle_(other.handle_), protocol_(other.protocol_) {
  other.context_.reset();
}

PcscCard& PcscCard::operator=(PcscCard&& other) noexcept {
  if (this != &other) {
    if (context_) SCardDisconnect(static_cast<SCARDHANDLE>(handle_), SCARD_LEAVE_CARD);
    context_ = std::move(other.context_);
    reader_ = std::move(other.reader_);
    handle_ = other.handle_;
    protocol_ = other.protocol_;
    other.context_.reset();
  }
  return *this;
}

Result<Bytes> PcscCard::transmit(ByteView command) {
  if (!context_) return fail("transmit on a card that was moved from; programmer error");
  const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
  Bytes response(MAX_BUFFER_SIZE_EXTENDED);
  DWORD length = static_cast<DWORD>(response.size());
  LONG rv = SCardTransmit(static_cast<SCARDHANDLE>(handle_), pci, command.data(), static_cast<DWORD>(command.size()),
                          nullptr, response.data(), &length);
  if (rv == SCARD_S_SUCCESS && length >= 2) {
    response.resize(std::min<std::size_t>(length, response.size()));
    return response;
  }
  // vpcd reports a card pulled mid-command as success with an empty response: no card answers
  // without a status word, so treat it like a failed transmit and find out whether the card is gone.
  std::string what = rv == SCARD_S_SUCCESS ? "the reader returned " + std::to_string(length) + " byte(s) without a status word"
                                           : pcsc_text(rv);
  if (rv == SCARD_W_REMOVED_CARD) return fail("card removed from reader '" + reader_ + "'; insert it and start again");
  if (is_service_gone(rv)) return service_error(rv);
  if (rv == SCARD_E_READER_UNAVAILABLE || rv == SCARD_E_UNKNOWN_READER) return reader_gone(reader_, rv);
  if (rv == SCARD_W_RESET_CARD) {
    // Another application reset the card; our session state on it (verified codes, selected file) is lost.
    DWORD active = 0;
    SCardReconnect(static_cast<SCARDHANDLE>(handle_), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                   SCARD_LEAVE_CARD, &active);
    return fail("card in reader '" + reader_ + "' was reset by another application; start the operation again");
  }
  // A card pulled mid-command shows first as SCARD_E_NOT_TRANSACTED while pcscd still believes it is
  // present (docs/cards.md §6.4). Ask pcscd again until its next poll has had a chance to run.
  const auto deadline = std::chrono::steady_clock::now() + kRemovalConfirmWait;
  for (;;) {
    auto state = reader_state(*context_, reader_);
    if (!state) return state.error();
    if (!card_in(*state)) return fail("card removed from reader '" + reader_ + "' during the command; insert it and start again");
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    SCARD_READERSTATE watch{};
    watch.szReader = reader_.c_str();
    watch.dwCurrentState = *state;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    SCardGetStatusChange(context_->get(), static_cast<DWORD>(left.count()), &watch, 1);
  }
  return fail("transmit to the card in reader '" + reader_ + "' failed: " + what +
              "; the card is still present, remove and re-insert it");
}

Result<Bytes> PcscCard::atr() {
  if (!context_) return fail("ATR of a card that was moved from; programmer error");
  Bytes atr(MAX_ATR_SIZE);
  DWORD atr_length = static_cast<DWORD>(atr.size());
  DWORD state = 0;
  DWORD protocol = 0;
  DWORD name_length = 0;
  LONG rv = SCardStatus(static_cast<SCARDHANDLE>(handle_), nullptr, &name_length, &state, &protocol, atr.data(), &atr_length);
  if (rv == SCARD_W_REMOVED_CARD) return fail("card removed from reader '" + reader_ + "'; insert it and start again");
  if (is_service_gone(rv)) return service_error(rv);
  if (rv != SCARD_S_SUCCESS) return fail("reading the ATR in reader '" + reader_ + "' failed: " + pcsc_text(rv));
  atr.resize(std::min<std::size_t>(atr_length, atr.size()));
  return atr;
}

// --- PcscReader ---

PcscReader::PcscReader(std::shared_ptr<PcscContext> wait_context, std::shared_ptr<PcscContext> card_context)
    : wait_context_(std::move(wait_context)), card_context_(std::move(card_context)) {}
PcscReader::~PcscReader() = default;
PcscReader::PcscReader(PcscReader&&) noexcept = default;
PcscReader& PcscReader::operator=(PcscReader&&) noexcept = default;

Result<PcscReader> PcscReader::open() {
  auto wait_context = PcscContext::establish();
  if (!wait_context) return wait_context.error();
  auto card_context = PcscContext::establish();
  if (!card_context) return card_context.error();
  return PcscReader(std::move(*wait_context), std::move(*card_context));
}

Result<std::vector<std::string>> PcscReader::list_readers() { return list_on(*card_context_); }

Result<std::string> PcscReader::pick_reader(std::string_view wanted) {
  auto names = list_readers();
  if (!names) return names.error();
  if (names->empty()) return fail("no reader found; plug in a PC/SC reader (or start pcscd with the vpcd driver)");
  if (wanted.empty()) return names->front();
  for (const auto& n : *names) {
    if (n == wanted) return n;
  }
  return fail("reader '" + std::string(wanted) + "' not found (available: " + join(*names) + ")");
}

Result<bool> PcscReader::wait_for_card_present(const std::string& reader, std::chrono::milliseconds timeout) {
  return wait_for(reader, true, timeout);
}

Result<bool> PcscReader::wait_for_card_absent(const std::string& reader, std::chrono::milliseconds timeout) {
  return wait_for(reader, false, timeout);
}

void PcscReader::cancel_wait() { SCardCancel(wait_context_->get()); }

Result<bool> PcscReader::wait_for(const std::string& reader, bool present, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Re-list after every wake-up: pcsc-lite 1.9.9 does not report a vanished reader reliably
    // through the wait itself (docs/cards.md §6.4).
    auto names = list_on(*wait_context_);
    if (!names) return names.error();
    bool listed = false;
    for (const auto& n : *names) listed = listed || n == reader;
    if (!listed) {
      if (names->empty()) return fail("no reader found (reader '" + reader + "' is gone); reconnect it");
      return fail("reader '" + reader + "' not found (available: " + join(*names) + ")");
    }
    auto state = reader_state(*wait_context_, reader);
    if (!state) return state.error();
    if (card_in(*state) == present) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const auto slice = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now), kWaitSlice);
    SCARD_READERSTATE watch{};
    watch.szReader = reader.c_str();
    watch.dwCurrentState = *state;
    LONG rv = SCardGetStatusChange(wait_context_->get(), static_cast<DWORD>(slice.count()), &watch, 1);
    if (rv == SCARD_E_CANCELLED) return fail("wait for reader '" + reader + "' cancelled");
    if (is_service_gone(rv)) return service_error(rv);
    if (rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE) return reader_gone(reader, rv);
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) return fail("waiting on reader '" + reader + "' failed: " + pcsc_text(rv));
  }
}

Result<PcscCard> PcscReader::connect(const std::string& reader) {
  SCARDHANDLE handle = 0;
  DWORD protocol = 0;
  LONG rv = SCardConnect(card_context_->get(), reader.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                         &handle, &protocol);
  if (rv == SCARD_S_SUCCESS) return PcscCard(card_context_, reader, static_cast<long>(handle), protocol);
  if (rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_REMOVED_CARD) return fail("no card in reader '" + reader + "'; insert a card");
  if (rv == SCARD_W_UNRESPONSIVE_CARD || rv == SCARD_W_UNPOWERED_CARD) {
    return fail("the card in reader '" + reader + "' does not answer (" + pcsc_text(rv) + "); check it is inserted the right way round");
  }
  if (rv == SCARD_E_SHARING_VIOLATION) return fail("the card in reader '" + reader + "' is held exclusively by another application; close it and retry");
  if (is_service_gone(rv)) return service_error(rv);
  if (rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE) {
    auto names = list_on(*card_context_);
    return fail("reader '" + reader + "' not found (available: " + (names ? join(*names) : std::string("?")) + ")");
  }
  return fail("connecting to the card in reader '" + reader + "' failed: " + pcsc_text(rv));
}

}  // namespace cardperso::pcsc
