# `make package` (cpack in a build directory): a Debian package `errand` of
# the install's `server` component (cmake/install.cmake): /usr/bin/errand,
# its man page, the systemd unit and /etc/errand/errand.toml (a conffile,
# kept over upgrades when changed). Its dependencies are computed by
# dpkg-shlibdeps from the libraries the binary links (Debian's dpkg-dev).
# The package neither enables nor starts the service: the postinst only
# reloads systemd's units (docs/operations.md, "Install and systemd").
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME errand)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Errand")
set(CPACK_PACKAGE_CONTACT "Errand maintainers <errand@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted background-job server")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Errand keeps a web app's slow work (bulk email, imports, reports, slow API
calls) durable, hands it to workers over HTTP or pushes it to serverless
functions, retries it with backoff, runs it later or on cron schedules, and
shows its progress live. One binary: server, command-line client and
dashboard, with its data in an embedded SQLite database or PostgreSQL.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # errand_<version>_<arch>.deb
# The install sees CMAKE_INSTALL_PREFIX=/usr (and DESTDIR for the staging
# directory), whatever prefix the build directory was configured with, so
# the unit and the config land where Debian keeps them.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};errand;server;/")
set(CPACK_STRIP_FILES ON)  # as Debian ships binaries: no symbol table, no debug information
find_program(ERRAND_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(ERRAND_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (Debian's dpkg-dev): the .deb lists no dependencies")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
