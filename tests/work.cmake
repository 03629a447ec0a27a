# Worker tests without a server: the C++ worker runtime's policies (handler
# lookup, leases, heartbeat timing, reconnect backoff) and its behaviour
# against an unreachable server, and the `errand work` stdout protocol and
# summary lines. `errand work` against the real server is
# tests/integration/test_work.py.
errand_gtest(errand_worker_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/client/worker_policy_test.cpp
    ${PROJECT_SOURCE_DIR}/src/client/worker_test.cpp
  LIBS errand_client
)

errand_gtest(errand_work_protocol_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/cli/work_protocol.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/work_summary.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/work_protocol_test.cpp
  LIBS errand_client
)

# The C++ worker example, built the way a user's project builds it: against
# this tree installed into a prefix, with find_package(Errand). The fixture
# gives the binary to integration.examples, which runs it against a server.
set(errand_package_dir ${CMAKE_BINARY_DIR}/package-test)
add_test(NAME package.cpp_worker
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                 -DWORK_DIR=${errand_package_dir} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
                 "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}" "-DLINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/package_test.cmake)
set_tests_properties(package.cpp_worker PROPERTIES FIXTURES_SETUP cpp_worker_package TIMEOUT 600)
set(ERRAND_CPP_WORKER ${errand_package_dir}/build/errand-example-cpp-worker)
