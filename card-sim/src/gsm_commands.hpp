#pragma once
// One function per GSM 11.11 command. The dispatcher (sim_card.cpp) has already checked the class,
// the INS and that the data length agrees with P3; each command checks its own P1/P2/P3.
#include "card_session.hpp"

namespace cardperso::cardsim::cmd {

// gsm_commands_files.cpp
Bytes select(CardSession& s, const Apdu& a);
Bytes status(CardSession& s, const Apdu& a);
Bytes get_response(CardSession& s, const Apdu& a);
// gsm_commands_data.cpp
Bytes read_binary(CardSession& s, const Apdu& a);
Bytes update_binary(CardSession& s, const Apdu& a);
Bytes read_record(CardSession& s, const Apdu& a);
Bytes update_record(CardSession& s, const Apdu& a);
Bytes invalidate(CardSession& s, const Apdu& a);
Bytes rehabilitate(CardSession& s, const Apdu& a);
// gsm_commands_chv.cpp
Bytes verify_chv(CardSession& s, const Apdu& a);
Bytes change_chv(CardSession& s, const Apdu& a);
Bytes disable_chv(CardSession& s, const Apdu& a);
Bytes enable_chv(CardSession& s, const Apdu& a);
Bytes unblock_chv(CardSession& s, const Apdu& a);
// gsm_commands_admin.cpp
Bytes create_file(CardSession& s, const Apdu& a);
// gsm_commands_auth.cpp
Bytes run_gsm_algorithm(CardSession& s, const Apdu& a);
// gsm_commands_retailer.cpp (the retailer card's own commands, docs/cards.md §2.2)
Bytes retailer_cryptogram(CardSession& s, const Apdu& a);
Bytes check_issuer(CardSession& s, const Apdu& a);
Bytes session_key_input(CardSession& s, const Apdu& a);
// gsm_commands_card_proof.cpp (a stock SIM's own command, docs/cards.md §2.3)
Bytes card_proof(CardSession& s, const Apdu& a);

// Shared by STATUS and SELECT.
Bytes directory_response_of(const CardSession& s, const std::string& dir_path);

}  // namespace cardperso::cardsim::cmd
