#pragma once
// Errors as values at every boundary (wire, card, file, database). Exceptions are kept for
// programmer errors. Every message says what happened and, where it helps, what to do.
#include <string>
#include <utility>
#include <variant>

namespace cardperso {

// What kind of failure, for a caller that must decide what to do next (keep a file, retry, refuse)
// without reading the message, which is for people.
enum class Errc {
  Failed,         // anything not named below
  InvalidInput,   // malformed or out-of-range input: fix the input
  NotFound,       // the thing asked for does not exist
  AlreadyExists,  // refused to create or overwrite something that exists
  Unavailable,    // a service, device or peer is not there now: may work later
  Corrupt,        // stored data failed its integrity check
};

struct Error {
  std::string message;
  Errc code = Errc::Failed;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}        // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

inline Error fail(std::string message) { return Error{std::move(message)}; }
inline Error fail(Errc code, std::string message) { return Error{std::move(message), code}; }

}  // namespace cardperso
