# `cmake --install` puts the C++ client library where other projects find it:
#   find_package(Errand REQUIRED)
#   target_link_libraries(app PRIVATE Errand::client)
# Headers go to <prefix>/include/errand (include them as "client/worker.hpp"),
# the static libraries and the CMake package to <prefix>/lib, and the errand
# binary to <prefix>/bin. examples/cpp-worker is such a project; the test
# package.cpp_worker installs this build and builds it against the result.
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
install(TARGETS errand RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

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
