#pragma once
// Key material, PINs and codes live in SecretBytes: the buffer is wiped with OPENSSL_cleanse when
// it is destroyed or overwritten, and it cannot be formatted into a log by accident.
#include <cstdint>
#include <span>
#include <vector>

#include "cardperso/common/bytes.hpp"

namespace cardperso {

void secure_wipe(void* data, std::size_t size);

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) : data_(size, 0) {}
  explicit SecretBytes(ByteView data) : data_(data.begin(), data.end()) {}
  SecretBytes(const SecretBytes& other) : data_(other.data_) {}
  SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) {
      wipe();
      data_ = other.data_;
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      data_ = std::move(other.data_);
      other.data_.clear();
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  void wipe() {
    if (!data_.empty()) secure_wipe(data_.data(), data_.size());
    data_.clear();
  }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  ByteView view() const { return {data_.data(), data_.size()}; }
  std::span<std::uint8_t> span() { return {data_.data(), data_.size()}; }
  std::uint8_t& operator[](std::size_t i) { return data_[i]; }
  std::uint8_t operator[](std::size_t i) const { return data_[i]; }

 private:
  std::vector<std::uint8_t> data_;
};

}  // namespace cardperso
