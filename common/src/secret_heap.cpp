// Where SecretBytes keep their bytes: OpenSSL's secure heap when harden_process() set one up, the
// normal heap otherwise. OpenSSL 3.0 answers NULL when the secure heap is full, without queueing an
// error (tests/unit/common/secure_heap_test.cpp checks both), and the block then comes from the
// normal heap. A secure-heap allocate+free costs about 0.6-3 us (a buddy allocator under a lock)
// against 40 ns for new/delete: fine for keys and messages, a handful per session.
#include <openssl/crypto.h>

#include <cstring>
#include <new>

#include "cardperso/common/secret_bytes.hpp"

namespace cardperso::detail {

std::uint8_t* secret_allocate(std::size_t size, bool* secure) {
  if (CRYPTO_secure_malloc_initialized() != 0) {
    void* p = OPENSSL_secure_zalloc(size);
    if (p != nullptr) {
      *secure = true;
      return static_cast<std::uint8_t*>(p);
    }
  }
  *secure = false;
  auto* p = static_cast<std::uint8_t*>(::operator new(size));
  std::memset(p, 0, size);
  return p;
}

void secret_free(std::uint8_t* data, std::size_t size, bool secure) noexcept {
  if (secure) {
    OPENSSL_secure_clear_free(data, size);  // wipes, then returns the block to the secure heap
    return;
  }
  OPENSSL_cleanse(data, size);
  ::operator delete(data);
}

}  // namespace cardperso::detail
