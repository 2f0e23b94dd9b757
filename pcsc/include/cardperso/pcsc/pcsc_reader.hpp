#pragma once
// PC/SC (pcsc-lite) access with RAII handles and errors as values. Messages say what to do.
//
// SCardGetStatusChange holds its context's mutex for the whole wait, so waiting and transmitting
// on one context would serialise them (docs/cards.md §6.4). PcscReader therefore owns
// two contexts: one for waiting (cancel_wait() may be called from another thread) and one for
// card transactions.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cardperso/common/bytes.hpp"
#include "cardperso/common/result.hpp"

namespace cardperso::pcsc {

class PcscContext;  // RAII SCARDCONTEXT, defined in the .cpp

// A connected card (SHARED, T=0 or T=1). Disconnects (leaving the card powered) when destroyed.
class PcscCard {
 public:
  ~PcscCard();
  PcscCard(PcscCard&&) noexcept;
  PcscCard& operator=(PcscCard&&) noexcept;
  PcscCard(const PcscCard&) = delete;
  PcscCard& operator=(const PcscCard&) = delete;

  const std::string& reader_name() const { return reader_; }
  // 1 = T=0, 2 = T=1 (SCARD_PROTOCOL_*).
  unsigned long protocol() const { return protocol_; }
  // One raw APDU -> raw response. Errors: "card removed from reader 'X'", "transmit failed ...",
  // "reader 'X' is gone ...", "no PC/SC service ...".
  Result<Bytes> transmit(ByteView command);
  Result<Bytes> atr();

 private:
  friend class PcscReader;
  PcscCard(std::shared_ptr<PcscContext> context, std::string reader, long handle, unsigned long protocol);
  std::shared_ptr<PcscContext> context_;
  std::string reader_;
  long handle_ = 0;  // SCARDHANDLE
  unsigned long protocol_ = 0;
};

class PcscReader {
 public:
  // Establishes both contexts. Fails with "no PC/SC service (is pcscd running?)".
  static Result<PcscReader> open();
  ~PcscReader();
  PcscReader(PcscReader&&) noexcept;
  PcscReader& operator=(PcscReader&&) noexcept;

  // Reader names; empty when pcscd runs but no reader is attached.
  Result<std::vector<std::string>> list_readers();
  // wanted empty: the first reader ("no reader found" if none); else that exact name
  // ("reader 'X' not found (available: ...)").
  Result<std::string> pick_reader(std::string_view wanted);

  // Blocks until a card is in the reader (true), or the timeout passes (false). Fails if the reader
  // is or goes missing, or the wait was cancelled.
  Result<bool> wait_for_card_present(const std::string& reader, std::chrono::milliseconds timeout);
  // Blocks until the reader is empty (true), or the timeout passes (false).
  Result<bool> wait_for_card_absent(const std::string& reader, std::chrono::milliseconds timeout);
  // Makes a wait in another thread return "wait cancelled" (SCardCancel on the wait context).
  void cancel_wait();

  // "no card in reader 'X'; insert a card" when empty.
  Result<PcscCard> connect(const std::string& reader);

 private:
  PcscReader(std::shared_ptr<PcscContext> wait_context, std::shared_ptr<PcscContext> card_context);
  Result<bool> wait_for(const std::string& reader, bool present, std::chrono::milliseconds timeout);
  std::shared_ptr<PcscContext> wait_context_;
  std::shared_ptr<PcscContext> card_context_;
};

}  // namespace cardperso::pcsc
