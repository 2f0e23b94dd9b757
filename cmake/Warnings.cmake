# Project-wide compile flags. Boost and system headers sit under /usr/include and raise no warnings.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow)
if(CARDPERSO_WERROR)
  add_compile_options(-Werror)
endif()
if(CARDPERSO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# Boost 1.74's awaitable.hpp uses std::exchange without including <utility> (fixed in 1.79).
add_compile_options(-include utility)
