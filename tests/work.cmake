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
