#include "cardperso/testing/gsup_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cardperso/testing/loopback.hpp"
#include "cardperso/testing/tcp_connect.hpp"

namespace cardperso::testing {

namespace {

using Clock = std::chrono::steady_clock;

int millis_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

Result<std::unique_ptr<GsupClient>> GsupClient::connect(const Options& options) {
  auto fd = connect_tcp(options.ip, options.port, options.timeout);
  if (!fd) return fail(fd.error().code, "GSUP: " + fd.error().message);
  std::unique_ptr<GsupClient> client(new GsupClient(*fd, options));
  // osmo-hlr asks who we are right after the accept and serves nobody who has not answered.
  const auto deadline = Clock::now() + options.timeout;
  for (;;) {
    auto frame = client->read_frame(deadline);
    if (!frame) return fail(frame.error().code, frame.error().message + " (waiting for the IPA identity request)");
    bool was_id_get = false;
    if (frame->protocol != gsup::kIpaProtoCcm) continue;
    if (auto answered = client->answer_ccm(*frame, &was_id_get); !answered) return answered.error();
    if (was_id_get) return client;
  }
}

GsupClient::~GsupClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> GsupClient::send(const Bytes& frame) {
  if (!send_all(fd_, frame.data(), frame.size()))
    return fail(Errc::Unavailable, "GSUP: osmo-hlr at " + options_.ip + ":" + std::to_string(options_.port) +
                                       " closed the connection while we sent (" + std::strerror(errno) + ")");
  return {};
}

Result<gsup::IpaFrame> GsupClient::read_frame(Clock::time_point deadline) {
  const std::string peer = "osmo-hlr at " + options_.ip + ":" + std::to_string(options_.port);
  for (;;) {
    auto frame = gsup::take_ipa_frame(buffer_);
    if (!frame) return fail(frame.error().code, "GSUP: " + frame.error().message);
    if (*frame) return std::move(**frame);
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, millis_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0)
      return fail(Errc::Unavailable, "GSUP: no answer from " + peer + " within " +
                                         std::to_string(options_.timeout.count()) + " ms");
    std::uint8_t chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0)
      return fail(Errc::Unavailable, "GSUP: " + peer + " closed the connection (see its log: a refused IPA " +
                                         "identity, or a duplicate client name '" + options_.name + "')");
    if (n < 0) return fail(Errc::Unavailable, "GSUP: reading from " + peer + ": " + std::strerror(errno));
    buffer_.insert(buffer_.end(), chunk, chunk + n);
  }
}

Result<void> GsupClient::answer_ccm(const gsup::IpaFrame& frame, bool* was_id_get) {
  *was_id_get = false;
  if (frame.payload.empty()) return fail(Errc::Corrupt, "GSUP: empty IPA CCM message from osmo-hlr");
  switch (frame.payload[0]) {
    case gsup::kCcmPing:
      return send(gsup::encode_ccm_pong());
    case gsup::kCcmIdGet: {
      *was_id_get = true;
      auto resp = gsup::encode_ccm_id_resp(options_.name, options_.name);
      if (!resp) return resp.error();
      return send(*resp);
    }
    default:
      return {};  // PONG, ID_ACK: nothing to do
  }
}

Result<gsup::IpaFrame> GsupClient::next_frame(Clock::time_point deadline) {
  for (;;) {
    auto frame = read_frame(deadline);
    if (!frame || frame->protocol != gsup::kIpaProtoCcm) return frame;
    bool was_id_get = false;
    if (auto answered = answer_ccm(*frame, &was_id_get); !answered) return answered.error();
  }
}

Result<std::vector<AuthTuple>> GsupClient::send_auth_info(const std::string& imsi, int num_vectors) {
  last_cause_.reset();
  auto request = gsup::encode_send_auth_info_request(imsi, num_vectors);
  if (!request) return request.error();
  if (auto sent = send(gsup::encode_gsup_frame(*request)); !sent) return sent.error();
  const auto deadline = Clock::now() + options_.timeout;
  for (;;) {
    auto frame = next_frame(deadline);
    if (!frame) return fail(frame.error().code, frame.error().message + " (SendAuthInfo for IMSI " + imsi + ")");
    // Only GSUP answers to this request count; anything else the HLR sends is not ours to handle.
    if (frame->protocol != gsup::kIpaProtoOsmo || frame->payload.empty() || frame->payload[0] != gsup::kIpaExtGsup)
      continue;
    auto message = gsup::decode_gsup_message(ByteView(frame->payload).subspan(1));
    if (!message) return fail(message.error().code, "GSUP: osmo-hlr's answer: " + message.error().message);
    if (message->imsi != imsi) continue;
    if (message->message_type == gsup::kSendAuthInfoError) {
      last_cause_ = message->cause;
      if (!message->cause) return fail("osmo-hlr refused SendAuthInfo for IMSI " + imsi + " without a cause");
      const std::uint8_t cause = *message->cause;
      return fail(cause == 0x02 ? Errc::NotFound : Errc::Failed,
                  "osmo-hlr refused SendAuthInfo for IMSI " + imsi + ": GSUP error cause " + std::to_string(cause) +
                      " (" + gsup::gmm_cause_name(cause) + ")");
    }
    if (message->message_type != gsup::kSendAuthInfoResult) continue;
    if (message->tuples.empty())
      return fail(Errc::Corrupt, "osmo-hlr answered SendAuthInfo for IMSI " + imsi + " without any auth tuple");
    return std::move(message->tuples);
  }
}

}  // namespace cardperso::testing
