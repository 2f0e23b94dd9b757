# Debian packages (`cpack -G DEB` in the build directory), one per install component (Install.cmake):
#   cardperso-issuer        the issuer's machine: ads-server, adsctl, profiles, the cardperso-ads unit
#   cardperso-shop          the shop PC: dtd-agent, ste-firmware, the reader tools, their units
#   cardperso-virtual-card  card-sim and cardperso-mkcards, for demos, tests and integrators without cards
# Split by who installs what where: the issuer's server never needs PC/SC, a shop PC never holds the
# master key or the database, and the virtual card is for test benches only (a production shop has a
# real reader and real SIMs). The library dependencies come from dpkg-shlibdeps.
# No maintainer scripts: the units use DynamicUser (no account to create) and nothing secret is made
# at install; `adsctl init` makes the database and the master key.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cardperso)
set(CPACK_PACKAGE_VENDOR cardperso)
set(CPACK_PACKAGE_CONTACT "cardperso maintainers <maintainers@cardperso.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL issuer shop virtual-card)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# First line: the synopsis; the rest: the long description.
set(CPACK_DEBIAN_ISSUER_DESCRIPTION "cardperso issuer server (ADS) and its administration tool
ads-server authenticates the shops' secure terminals and personalises SIMs through them;
adsctl manages its database, retailers, card stock, number pools, HLR link and backups.")
set(CPACK_DEBIAN_ISSUER_PACKAGE_SUGGESTS "osmo-hlr, prometheus")
set(CPACK_DEBIAN_SHOP_DESCRIPTION "cardperso shop PC: DTD agent, secure terminal emulator, SIM reader tools
dtd-agent relays the secure terminal's sessions to the issuer's ADS; ste-firmware is the
secure terminal; cardperso-simread and cardperso-apdu read cards through PC/SC.")
set(CPACK_DEBIAN_SHOP_PACKAGE_RECOMMENDS "pcscd")
set(CPACK_DEBIAN_VIRTUAL-CARD_DESCRIPTION "cardperso virtual cards for demos and tests
card-sim is a GSM SIM or retailer card on pcscd's vpcd driver; cardperso-mkcards makes
their images and blank SIM batches.")
set(CPACK_DEBIAN_VIRTUAL-CARD_PACKAGE_RECOMMENDS "pcscd, vsmartcard-vpcd")

include(CPack)
