# The Store conformance suite (every backend) and SQLite-specific store tests.
# The suite itself, which every backend's test links.
add_library(errand_store_conformance OBJECT
    ${PROJECT_SOURCE_DIR}/src/store/conformance/harness.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/insert_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/read_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/claim_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/lease_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/complete_fail_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/cancel_retry_delete_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/queues_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/keys_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/workflows_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/queue_config_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/timers_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/durability_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/schedules_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/push_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/stats_samples_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/settings_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/sessions_test.cpp
    ${PROJECT_SOURCE_DIR}/src/store/conformance/nodes_test.cpp)
target_link_libraries(errand_store_conformance PUBLIC errand_store GTest::gtest GTest::gmock PRIVATE errand_warnings)

errand_gtest(store_conformance_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/conformance/sqlite_conformance.cpp
  LIBS errand_store_conformance errand_store_sqlite)

# PostgreSQL: the same suite, and the backend's own tests, on the throwaway
# cluster the `postgres` fixture starts (it writes the cluster's URL to
# ${PROJECT_BINARY_DIR}/postgres/url). ERRAND_TEST_POSTGRES, when set in the
# environment, names another database instead.
set(ERRAND_POSTGRES_TEST_PROPERTIES
  FIXTURES_REQUIRED postgres
  ENVIRONMENT ERRAND_TEST_POSTGRES_URL_FILE=${PROJECT_BINARY_DIR}/postgres/url)

errand_gtest(store_conformance_postgres_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/conformance/postgres_conformance.cpp
  LIBS errand_store_conformance errand_store_postgres
  PROPERTIES ${ERRAND_POSTGRES_TEST_PROPERTIES})

errand_gtest(store_postgres_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/postgres/postgres_store_test.cpp
  LIBS errand_store_postgres PostgreSQL::PostgreSQL spdlog::spdlog
  PROPERTIES ${ERRAND_POSTGRES_TEST_PROPERTIES})

errand_gtest(store_sqlite_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/sqlite/sqlite_store_test.cpp
          ${PROJECT_SOURCE_DIR}/src/store/sqlite/migration_test.cpp
          ${PROJECT_SOURCE_DIR}/src/store/sqlite/backup_test.cpp
  LIBS errand_store_sqlite SQLite::SQLite3)

# The backend-independent store code (src/store/common), without a database.
errand_gtest(store_common_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/common/common_test.cpp
  LIBS errand_store_common)

# errand copy: the COPY text encoding (the copy itself: tests/integration/test_store_copy.py).
errand_gtest(store_copy_text_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/store/copy/copy_text_test.cpp
  LIBS errand_store_copy)
