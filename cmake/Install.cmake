# `cmake --install`: the programs and what they read, in FHS places under the prefix (the packages use
# /usr: /usr/bin, /usr/share/cardperso, /usr/share/doc/cardperso, /usr/share/man, /usr/lib/systemd).
# One component per package (cmake/Package.cmake):
#   issuer        ads-server, adsctl, the card profiles (ads-server looks for its default profile in
#                 share/cardperso/profiles of the prefix it runs from), example ads-server.conf and
#                 policy.json, the cardperso-ads unit, the documentation
#   shop          dtd-agent, ste-firmware, the reader tools cardperso-simread and cardperso-apdu,
#                 example configurations, the cardperso-dtd and cardperso-ste units
#   virtual-card  card-sim and cardperso-mkcards (demos, tests, integrators without a card)
# Every program's man page goes with it (cmake/ManPages.cmake).
# Nothing secret and nothing in /etc is installed: `adsctl init` makes the database and the master key,
# the operator copies the examples to /etc/cardperso, so removing a package leaves no file it made.
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

# Relative to the prefix: /usr/lib/systemd/system in the packages, where Debian's systemd reads units.
set(CARDPERSO_UNIT_DIR lib/systemd/system)
set(CARDPERSO_EXAMPLES_DIR ${CMAKE_INSTALL_DATADIR}/cardperso/examples)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/cardperso-ads.service DESTINATION ${CARDPERSO_UNIT_DIR}
        COMPONENT issuer)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/examples/ads-server.conf ${PROJECT_SOURCE_DIR}/packaging/examples/policy.json
        DESTINATION ${CARDPERSO_EXAMPLES_DIR} COMPONENT issuer)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/cardperso-dtd.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/cardperso-ste.service
        DESTINATION ${CARDPERSO_UNIT_DIR} COMPONENT shop)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/examples/dtd-agent.conf ${PROJECT_SOURCE_DIR}/packaging/examples/ste-firmware.conf
        DESTINATION ${CARDPERSO_EXAMPLES_DIR} COMPONENT shop)

install(TARGETS card-sim cardperso-mkcards RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT virtual-card)

include(${PROJECT_SOURCE_DIR}/cmake/ManPages.cmake)
