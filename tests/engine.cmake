errand_gtest(engine_test
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/engine/engine_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/schedules_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/events_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/nodes_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/faults_test.cpp
  LIBS errand_engine errand_store_sqlite errand_store_faulty)

errand_gtest(stats_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/engine/stats_test.cpp
  LIBS errand_engine)

# The API's parts below HTTP: dashboard sessions (on a real SQLite store) and cookies,
# request limits, the TLS certificate files.
errand_gtest(api_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/api/session_test.cpp
          ${PROJECT_SOURCE_DIR}/src/api/limits_test.cpp
          ${PROJECT_SOURCE_DIR}/src/api/auth_test.cpp
          ${PROJECT_SOURCE_DIR}/src/api/tls_test.cpp
  LIBS errand_api errand_store_sqlite)
