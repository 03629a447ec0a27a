# Client library unit tests: no server needed (wire format, URL parsing, the
# HTTP connection pool against a scripted loopback peer, and moving between
# several URLs).
errand_gtest(errand_client_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/client/wire_test.cpp
    ${PROJECT_SOURCE_DIR}/src/client/http_test.cpp
    ${PROJECT_SOURCE_DIR}/src/client/failover_test.cpp
    ${PROJECT_SOURCE_DIR}/src/client/client_test.cpp
    ${PROJECT_SOURCE_DIR}/src/client/schedule_wire_test.cpp
  LIBS errand_client
)

# The CLI's human output (tables, relative times), usage hints and --store
# parsing: pure, no server.
errand_gtest(errand_cli_output_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/cli/output.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/output_test.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/usage.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/usage_test.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/store_choice.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/store_choice_test.cpp
  LIBS errand_client
)

# errand.toml's reading (cli/config_file) from text: no file, no engine.
errand_gtest(errand_config_file_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/cli/config_file.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/config_file_test.cpp
    ${PROJECT_SOURCE_DIR}/src/cli/store_choice.cpp
    ${PROJECT_SOURCE_DIR}/src/api/cors.cpp
    ${PROJECT_SOURCE_DIR}/src/api/errors.cpp
    ${PROJECT_SOURCE_DIR}/src/api/host_policy.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/push/address_guard.cpp
  LIBS errand_core Boost::url tomlplusplus::tomlplusplus
)
