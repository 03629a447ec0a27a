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

# The C++ worker example, next to the errand binary so test_examples.py finds it.
add_executable(errand-example-cpp-worker ${PROJECT_SOURCE_DIR}/examples/cpp-worker/worker.cpp)
target_link_libraries(errand-example-cpp-worker PRIVATE errand_client errand_warnings)
set_target_properties(errand-example-cpp-worker PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
