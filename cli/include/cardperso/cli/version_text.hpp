#pragma once
// What `PROGRAM --version` prints: the project's version and the wire protocol versions it speaks.
#include <string>

namespace cardperso::cli {

// "ads-server (cardperso) 0.1.0, wire protocol 1..1"
std::string version_text(const std::string& program);

}  // namespace cardperso::cli
