# Unit tests of the pure core (src/core): milliseconds, no I/O.
errand_gtest(core_test
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/core/error_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/duration_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/time_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/id_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/backoff_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/state_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/job_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/job_json_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/error_json_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/json_text_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/hmac_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/queue_config_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/queue_json_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/cron_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/schedule_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/schedule_json_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/push_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/node_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/metrics_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/trace_test.cpp
    ${PROJECT_SOURCE_DIR}/src/core/mutex_test.cpp
  LIBS errand_core
)
