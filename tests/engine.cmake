errand_gtest(engine_test
  SOURCES
    ${PROJECT_SOURCE_DIR}/src/engine/engine_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/schedules_test.cpp
    ${PROJECT_SOURCE_DIR}/src/engine/events_test.cpp
  LIBS errand_engine)
