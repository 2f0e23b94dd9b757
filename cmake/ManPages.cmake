# Man pages made from each program's own --help and --version (help2man), so `man ads-server` on an
# installed system says exactly what `ads-server --help` says and cannot drift from it.
# CARDPERSO_MAN_PAGES=OFF builds without help2man (nothing is installed in share/man then).
option(CARDPERSO_MAN_PAGES "Make man pages from --help with help2man" ON)
if(NOT CARDPERSO_MAN_PAGES)
  return()
endif()
find_program(HELP2MAN help2man)
if(NOT HELP2MAN)
  message(FATAL_ERROR "help2man not found: install it (apt-get install help2man) or configure with -DCARDPERSO_MAN_PAGES=OFF")
endif()

# cardperso_man_page(TARGET COMPONENT "one-line description" [SUBCOMMANDS])
# SUBCOMMANDS: a tool whose --help lists commands (adsctl, cardperso-mkcards); each command's own
# --help goes into a COMMANDS section (cmake/subcommand_help.sh).
function(cardperso_man_page target component description)
  set(page ${PROJECT_BINARY_DIR}/man/man1/${target}.1)
  set(gzipped ${page}.gz)
  set(include_args)
  set(include_commands)
  if(ARGN STREQUAL "SUBCOMMANDS")
    set(include_file ${PROJECT_BINARY_DIR}/man/${target}.h2m)
    set(include_args --include ${include_file})
    set(include_commands COMMAND bash ${PROJECT_SOURCE_DIR}/cmake/subcommand_help.sh $<TARGET_FILE:${target}> ${include_file})
  endif()
  add_custom_command(OUTPUT ${gzipped}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man/man1
    ${include_commands}
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr -N --section 1 --source "cardperso ${PROJECT_VERSION}"
      --name "${description}" ${include_args} --output ${page} $<TARGET_FILE:${target}>
    COMMAND gzip -n -9 -f ${page}
    DEPENDS ${target} ${PROJECT_SOURCE_DIR}/cmake/subcommand_help.sh
    COMMENT "man page for ${target}"
    VERBATIM)
  add_custom_target(man-${target} ALL DEPENDS ${gzipped})
  install(FILES ${gzipped} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
endfunction()

cardperso_man_page(ads-server issuer "the issuer's card personalisation server (ADS)")
cardperso_man_page(adsctl issuer "administer the ADS: database, retailers, stock, number pools, HLR, backups" SUBCOMMANDS)
cardperso_man_page(dtd-agent shop "the shop PC's relay between the secure terminal and the ADS")
cardperso_man_page(ste-firmware shop "the secure terminal (emulator): retailer sign-on and card personalisation")
cardperso_man_page(cardperso-simread shop "read a GSM SIM back through PC/SC")
cardperso_man_page(cardperso-apdu shop "send APDUs to a card through PC/SC")
cardperso_man_page(card-sim virtual-card "a virtual GSM SIM or retailer card on pcscd's vpcd driver")
cardperso_man_page(cardperso-mkcards virtual-card "make virtual card images and blank SIM batches for card-sim" SUBCOMMANDS)
