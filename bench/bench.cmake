# errand-bench: end-to-end throughput against a server it starts (the errand
# built beside it) or one given with --server. Prints figures; never a test.
add_executable(errand-bench
  ${CMAKE_CURRENT_LIST_DIR}/bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_process.cpp
)
target_link_libraries(errand-bench PRIVATE errand_client CLI11::CLI11 fmt::fmt Threads::Threads errand_warnings)
target_compile_definitions(errand-bench PRIVATE ERRAND_BENCH_DEFAULT_ERRAND="$<TARGET_FILE:errand>")
add_dependencies(errand-bench errand)
