#pragma once
// A blocking GSUP client for tests: connects to osmo-hlr's GSUP port, introduces itself over IPA CCM
// and asks for authentication tuples, every wait bounded by a deadline. The wire format lives in
// gsup_codec.hpp; this file only moves its bytes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cardperso/common/result.hpp"
#include "cardperso/testing/child_process.hpp"
#include "cardperso/testing/gsup_codec.hpp"

namespace cardperso::testing {

using gsup::AuthTuple;

class GsupClient {
 public:
  struct Options {
    std::string ip = "127.0.0.1";
    int port = 4222;
    // The IPA serial number osmo-hlr routes by: two clients at once need different names.
    std::string name = "cardperso-test";
    Millis timeout = Millis(5000);  // for the connect and for each answer
  };

  // Connects and answers the server's identity request. Errc::Unavailable when nobody listens.
  static Result<std::unique_ptr<GsupClient>> connect(const Options& options);
  static Result<std::unique_ptr<GsupClient>> connect() { return connect(Options{}); }
  ~GsupClient();
  GsupClient(const GsupClient&) = delete;
  GsupClient& operator=(const GsupClient&) = delete;

  // SendAuthInfo for imsi; num_vectors 0 lets the HLR choose (osmo-hlr 1.5.0 sends 5). A GSUP error
  // answer fails with "... GSUP error cause N (name)" (Errc::NotFound for "IMSI unknown") and leaves
  // the cause in last_cause().
  Result<std::vector<AuthTuple>> send_auth_info(const std::string& imsi, int num_vectors = 0);
  std::optional<std::uint8_t> last_cause() const { return last_cause_; }

 private:
  GsupClient(int fd, Options options) : fd_(fd), options_(std::move(options)) {}
  Result<void> send(const Bytes& frame);
  // The next frame that is not connection management; CCM frames met on the way are answered.
  Result<gsup::IpaFrame> next_frame(std::chrono::steady_clock::time_point deadline);
  Result<gsup::IpaFrame> read_frame(std::chrono::steady_clock::time_point deadline);
  Result<void> answer_ccm(const gsup::IpaFrame& frame, bool* was_id_get);

  int fd_ = -1;
  Options options_;
  Bytes buffer_;
  std::optional<std::uint8_t> last_cause_;
};

}  // namespace cardperso::testing
