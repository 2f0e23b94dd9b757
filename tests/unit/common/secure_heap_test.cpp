// Process hardening and SecretBytes on OpenSSL's secure heap, in this test process: core dumps off,
// not dumpable, a locked heap (VmLck in /proc/self/status), SecretBytes placed in it, and the
// fallback to the normal heap (still wiped, no OpenSSL error left queued) once it is full. The heap
// is process-wide, so this binary holds these tests only.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sys/prctl.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cardperso/common/process_hardening.hpp"
#include "cardperso/common/secret_bytes.hpp"

namespace cardperso {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

long vm_locked_kib() {
  std::smatch m;
  const std::string status = read_file("/proc/self/status");
  if (!std::regex_search(status, m, std::regex("VmLck:\\s+(\\d+) kB"))) return -1;
  return std::stol(m[1]);
}

constexpr std::size_t kHeap = 64 * 1024;

class SecureHeap : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { report_ = harden_process({.secure_heap_bytes = kHeap, .secure_heap_min_block = 16}); }
  static HardeningReport report_;
};
HardeningReport SecureHeap::report_;

TEST_F(SecureHeap, CoreDumpsOffNotDumpableAndTheHeapLocked) {
  EXPECT_TRUE(report_.core_dumps_off) << describe(report_);
  EXPECT_TRUE(report_.not_dumpable) << describe(report_);
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  EXPECT_TRUE(std::regex_search(read_file("/proc/self/limits"), std::regex("Max core file size\\s+0\\s+0")))
      << read_file("/proc/self/limits");
  ASSERT_EQ(report_.secure_heap_bytes, kHeap) << describe(report_);
  EXPECT_EQ(CRYPTO_secure_malloc_initialized(), 1);
  EXPECT_TRUE(report_.secure_heap_locked) << describe(report_);
  EXPECT_GE(vm_locked_kib(), static_cast<long>(kHeap / 1024)) << read_file("/proc/self/status");
  EXPECT_EQ(last_hardening_report().secure_heap_bytes, kHeap);
  EXPECT_NE(describe(report_).find("secure heap 64 KiB (locked)"), std::string::npos) << describe(report_);
}

TEST_F(SecureHeap, SecretBytesLiveInTheSecureHeapAndKeepTheirApi) {
  const Bytes key = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  SecretBytes s(key);
  ASSERT_TRUE(s.in_secure_heap());
  EXPECT_EQ(CRYPTO_secure_allocated(s.data()), 1);
  EXPECT_EQ(Bytes(s.view().begin(), s.view().end()), key);
  SecretBytes copy(s);
  EXPECT_TRUE(copy.in_secure_heap());
  EXPECT_NE(copy.data(), s.data());
  EXPECT_EQ(Bytes(copy.view().begin(), copy.view().end()), key);
  SecretBytes moved(std::move(copy));
  EXPECT_TRUE(copy.empty());
  EXPECT_EQ(copy.data(), nullptr);
  EXPECT_EQ(moved[15], 0xff);
  moved[0] = 0x42;
  EXPECT_EQ(moved.view()[0], 0x42);
  SecretBytes zeroed(32);
  EXPECT_TRUE(zeroed.in_secure_heap());
  for (std::size_t i = 0; i < zeroed.size(); ++i) EXPECT_EQ(zeroed[i], 0);
  const std::size_t used = CRYPTO_secure_used();
  moved.wipe();
  EXPECT_TRUE(moved.empty());
  EXPECT_LT(CRYPTO_secure_used(), used) << "wipe() did not return the block to the secure heap";
  SecretBytes none;
  EXPECT_EQ(none.size(), 0u);
  EXPECT_FALSE(none.in_secure_heap());
}

TEST_F(SecureHeap, WhenFullSecretBytesFallBackToTheNormalHeapAndLeaveNoOpensslError) {
  ERR_clear_error();
  std::vector<SecretBytes> hog;
  // 64 KiB of 16-byte blocks, plus some: the heap must run out.
  for (std::size_t i = 0; i < kHeap / 16 + 100; ++i) hog.emplace_back(std::size_t{16});
  std::size_t in_heap = 0;
  for (const auto& s : hog) in_heap += s.in_secure_heap() ? 1 : 0;
  EXPECT_GT(in_heap, 0u);
  EXPECT_LT(in_heap, hog.size()) << "the secure heap never ran out";
  // OpenSSL 3.0 answers NULL when full; the fallback block is usable, zeroed, and no error is queued.
  SecretBytes overflow(Bytes(100, 0x5a));
  EXPECT_FALSE(overflow.in_secure_heap());
  EXPECT_EQ(overflow[99], 0x5a);
  EXPECT_EQ(ERR_peek_error(), 0u) << "a full secure heap left an OpenSSL error queued";
  // Freeing makes room again.
  hog.clear();
  SecretBytes again(std::size_t{16});
  EXPECT_TRUE(again.in_secure_heap());
}

TEST_F(SecureHeap, AllocationStaysCheap) {
  // 200,000 allocate/free pairs of 16-byte keys; the ADS makes a handful per session.
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 200'000; ++i) {
    SecretBytes k(std::size_t{16});
    k[0] = static_cast<std::uint8_t>(i);
    ASSERT_TRUE(k.in_secure_heap());
  }
  const auto per = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count() / 200'000;
  std::cout << "secure-heap SecretBytes allocate+free: " << per << " ns\n";
  EXPECT_LT(per, 20'000.0);  // generous: a shared, loaded test machine
}

}  // namespace
}  // namespace cardperso
