#pragma once
// Key material, PINs and codes live in SecretBytes: the buffer is wiped with OPENSSL_cleanse when
// it is destroyed or overwritten, and it cannot be formatted into a log by accident. When the
// process set up OpenSSL's secure heap (process_hardening.hpp: mlock'ed, kept out of core dumps,
// guard pages) the bytes live there; when there is none, or it is full, they come from the normal
// heap and are still wiped.
#include <cstdint>
#include <span>

#include "cardperso/common/bytes.hpp"

namespace cardperso {

void secure_wipe(void* data, std::size_t size);

namespace detail {
// A zeroed block of `size` > 0 bytes: from the secure heap when there is one with room (*secure =
// true), else from operator new (*secure = false). Throws std::bad_alloc like new.
std::uint8_t* secret_allocate(std::size_t size, bool* secure);
// Wipes and frees a block from secret_allocate.
void secret_free(std::uint8_t* data, std::size_t size, bool secure) noexcept;
}  // namespace detail

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) { allocate(size); }
  explicit SecretBytes(ByteView data) { assign(data.data(), data.size()); }
  SecretBytes(const SecretBytes& other) { assign(other.data_, other.size_); }
  SecretBytes(SecretBytes&& other) noexcept { take(other); }
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) {
      wipe();
      assign(other.data_, other.size_);
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      take(other);
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  // Wipes and releases the bytes; the object is empty afterwards.
  void wipe() noexcept {
    if (data_ != nullptr) detail::secret_free(data_, size_, secure_);
    data_ = nullptr;
    size_ = 0;
    secure_ = false;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  ByteView view() const { return {data_, size_}; }
  std::span<std::uint8_t> span() { return {data_, size_}; }
  std::uint8_t& operator[](std::size_t i) { return data_[i]; }
  std::uint8_t operator[](std::size_t i) const { return data_[i]; }
  // Whether the bytes are in OpenSSL's secure heap (for tests and diagnostics).
  bool in_secure_heap() const { return secure_; }

 private:
  void allocate(std::size_t size) {
    if (size > 0) data_ = detail::secret_allocate(size, &secure_);
    size_ = size;
  }
  void assign(const std::uint8_t* from, std::size_t size) {
    allocate(size);
    for (std::size_t i = 0; i < size; ++i) data_[i] = from[i];
  }
  void take(SecretBytes& other) noexcept {
    data_ = other.data_;
    size_ = other.size_;
    secure_ = other.secure_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.secure_ = false;
  }

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool secure_ = false;
};

}  // namespace cardperso
