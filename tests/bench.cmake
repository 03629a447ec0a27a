# errand-bench's pure parts (spreading clients over nodes): no server.
errand_gtest(errand_bench_tests
  SOURCES
    ${PROJECT_SOURCE_DIR}/bench/node_urls.cpp
    ${PROJECT_SOURCE_DIR}/bench/node_urls_test.cpp
)
