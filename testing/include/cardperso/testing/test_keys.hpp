#pragma once
// Recognisable, reproducible key material for in-memory runs of the cores (tests and benchmarks):
// never random, so a failing run can be replayed and a key seen in a dump tells which one it is.
#include <cstdint>

#include "cardperso/common/secret_bytes.hpp"
#include "cardperso/proto/actions.hpp"
#include "cardperso/proto/terminal_identity.hpp"

namespace cardperso::testing {

// 16 bytes counting up from `seed` by `step` (mod 256).
SecretBytes counting_key(std::uint8_t seed, std::uint8_t step = 1);

// A retailer card's four keys, each counting by `step` from its own start: K_RA from `seed`, K_IA
// from seed+0x40, K_S from seed+0x80, K_D from seed+0xc0.
proto::RetailerKeys counting_retailer_keys(std::uint8_t seed, std::uint8_t step = 1);

// The pairing key of a terminal and its DTD in memory (proto/pairing.hpp).
SecretBytes test_pairing_key();

// A terminal's device key in memory (proto/terminal_identity.hpp): the Ed25519 private key is 32
// bytes counting up from `seed`. The default one is the terminal every in-memory ADS knows.
proto::DeviceSigner test_device_signer(std::uint8_t seed = 0xD0);

}  // namespace cardperso::testing
