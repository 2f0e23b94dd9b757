#pragma once
// The handshake's retailer computations done by the retailer card itself, with its own commands
// (docs/cards.md §2.2): RETAILER CRYPTOGRAM, CHECK ISSUER and SESSION KEY INPUT. The keys never leave
// the card; what comes back is one result per command, and the session-key inputs are kept in
// SecretBytes with the transport copy wiped. The card must have CHV1 verified (sign_on does that).
#include "cardperso/card/t0_exchange.hpp"
#include "cardperso/proto/retailer_secrets.hpp"

namespace cardperso::ste {

class CardRetailerSecrets final : public proto::RetailerSecrets {
 public:
  // transmit must stay usable for the session (the PC/SC card handle outlives the handshake).
  explicit CardRetailerSecrets(card::TransmitFn transmit) : transmit_(std::move(transmit)) {}

  Result<proto::Block16> retailer_cryptogram(ByteView rn1) override;
  Result<bool> issuer_matches(ByteView rn2, ByteView issuer_cryptogram) override;
  Result<SecretBytes> session_key_input(proto::SessionKeyRole key, ByteView rn_ads, ByteView rn_ste) override;

 private:
  // One command with DF 7F50 current: a card that answers 9400 (another DF is current) gets the DF
  // selected and the command once more.
  Result<card::ApduResponse> run(const Bytes& command, const char* what);

  card::TransmitFn transmit_;
};

}  // namespace cardperso::ste
