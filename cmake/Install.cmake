# `cmake --install`: the programs and what they read, in FHS places under the prefix (packages use
# /usr: /usr/bin, /usr/share/cardperso, /usr/share/doc/cardperso). One component per package-to-be:
#   issuer        ads-server, adsctl, the card profiles (ads-server's default profile is looked for in
#                 <prefix>/share/cardperso/profiles), the documentation
#   shop          dtd-agent, ste-firmware, the reader tools cardperso-simread and cardperso-apdu
#   virtual-card  card-sim and cardperso-mkcards (demos, tests, integrators without a card)
# Nothing secret is installed: `adsctl init` makes the database and the master key.
include(GNUInstallDirs)

install(TARGETS ads-server adsctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT issuer)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/profiles/ DESTINATION ${CMAKE_INSTALL_DATADIR}/cardperso/profiles
        COMPONENT issuer FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT issuer
        FILES_MATCHING PATTERN "*.md")
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/proto/PROTOCOL.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT issuer)

install(TARGETS dtd-agent ste-firmware cardperso-simread cardperso-apdu RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT shop)

install(TARGETS card-sim cardperso-mkcards RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT virtual-card)
