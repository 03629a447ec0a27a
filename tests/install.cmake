# Installing the server as a system service (tests/install/test_install.py):
# the systemd unit passes `systemd-analyze verify` and an exposure check;
# the man page renders without warnings and names every command;
# `cmake --install` puts the binary, the man page, the unit and the example
# configuration under a prefix, with the unit's paths following it; and the
# .deb cpack builds from this build directory (its binary, here the one the
# tests use) lists them, installs its conffile, and its extracted errand
# prints the version and the commit.
foreach(suite IN ITEMS SystemdUnit ManPage CmakeInstall DebPackage)
  string(TOLOWER ${suite} name)
  add_test(NAME install.${name}
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_install.${suite}Test
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/install)
  set_tests_properties(install.${name} PROPERTIES
                       ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;ERRAND_BUILD_DIR=${CMAKE_BINARY_DIR};ERRAND_SOURCE_DIR=${PROJECT_SOURCE_DIR};ERRAND_CMAKE=${CMAKE_COMMAND};ERRAND_CPACK=${CMAKE_CPACK_COMMAND};PYTHONDONTWRITEBYTECODE=1"
                       TIMEOUT 300
                       LABELS install)
endforeach()
