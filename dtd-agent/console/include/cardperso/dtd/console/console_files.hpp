#pragma once
// The console page's files (web/index.html, console.css, console.js) as built into the binary
// (embed_files.cmake generates the definition).
#include <optional>
#include <string_view>

namespace cardperso::dtd::console {

// The bytes of a file by its name ("index.html"); nullopt for any other name.
std::optional<std::string_view> embedded_file(std::string_view name);

}  // namespace cardperso::dtd::console
