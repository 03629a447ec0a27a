# `cmake --install` puts the C++ client library where other projects find it:
#   find_package(Errand REQUIRED)
#   target_link_libraries(app PRIVATE Errand::client)
# Headers go to <prefix>/include/errand (include them as "client/worker.hpp"),
# the static libraries and the CMake package to <prefix>/lib, and the errand
# binary to <prefix>/bin. examples/cpp-worker is such a project; the test
# package.cpp_worker installs this build and builds it against the result.
#
# The server as a system service (component `server`, all the .deb holds):
# bin/errand, the man page errand.1 (share/man/man1, gzip'd), the systemd
# unit (lib/systemd/system/errand.service) and the example configuration it
# reads (etc/errand/errand.toml; /etc/errand/errand.toml under the prefix
# /usr). The unit's paths follow the prefix the install is made to.
# `make package` (cpack, cmake/package.cmake) packages that component.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ERRAND_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Errand)

set_target_properties(errand_client PROPERTIES EXPORT_NAME client)
set_target_properties(errand_core PROPERTIES EXPORT_NAME core)
set_target_properties(errand_asio PROPERTIES EXPORT_NAME asio)

install(TARGETS errand_client errand_core errand_asio
        EXPORT ErrandTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/errand)
install(TARGETS errand RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)

# The client's public headers and the core headers they include.
file(GLOB errand_core_headers ${PROJECT_SOURCE_DIR}/src/core/*.hpp)
install(FILES ${errand_core_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/errand/core)
install(FILES ${PROJECT_SOURCE_DIR}/src/client/client.hpp
              ${PROJECT_SOURCE_DIR}/src/client/types.hpp
              ${PROJECT_SOURCE_DIR}/src/client/worker.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/errand/client)

install(EXPORT ErrandTargets NAMESPACE Errand:: DESTINATION ${ERRAND_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ErrandConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ErrandConfig.cmake
                              INSTALL_DESTINATION ${ERRAND_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ErrandConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ErrandConfig.cmake ${PROJECT_BINARY_DIR}/ErrandConfigVersion.cmake
        DESTINATION ${ERRAND_INSTALL_CMAKEDIR})

# ---- the server as a system service ---------------------------------------------
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/errand.1.gz
  COMMAND ${CMAKE_COMMAND} -DINPUT=${PROJECT_SOURCE_DIR}/deploy/errand.1
          -DOUTPUT=${PROJECT_BINARY_DIR}/errand.1.gz -P ${PROJECT_SOURCE_DIR}/cmake/compress_man.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/deploy/errand.1 ${PROJECT_SOURCE_DIR}/cmake/compress_man.cmake
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(errand_man ALL DEPENDS ${PROJECT_BINARY_DIR}/errand.1.gz)
add_dependencies(errand errand_man)
install(FILES ${PROJECT_BINARY_DIR}/errand.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT server)

# Paths decided at install time, from the prefix the install goes to (cpack
# installs to /usr, `cmake --install --prefix` wherever it is told).
install(CODE "set(ERRAND_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(ERRAND_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(ERRAND_STAGED_UNIT \"${PROJECT_BINARY_DIR}/errand.service.installed\")"
        COMPONENT server)
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(etc "/etc")
  else()
    set(etc "${CMAKE_INSTALL_PREFIX}/etc")
  endif()
  file(READ "${ERRAND_SOURCE_DIR}/deploy/errand.service" unit)
  string(REPLACE "/usr/bin/errand" "${CMAKE_INSTALL_PREFIX}/${ERRAND_BINDIR}/errand" unit "${unit}")
  string(REPLACE "/etc/errand/" "${etc}/errand/" unit "${unit}")
  file(WRITE "${ERRAND_STAGED_UNIT}" "${unit}")
  file(INSTALL "${ERRAND_STAGED_UNIT}" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
       RENAME errand.service PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(INSTALL "${ERRAND_SOURCE_DIR}/deploy/errand.toml" DESTINATION "${etc}/errand"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
]] COMPONENT server)
