# errand-bench: the peer harness's four workloads (A enqueue, B drain,
# C latency, D a million queued), and P push delivery, against a server it
# starts itself (the errand built beside it) or one given with --server.
# Prints figures; never a test.
add_executable(errand-bench
  ${CMAKE_CURRENT_LIST_DIR}/bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/common.cpp
  ${CMAKE_CURRENT_LIST_DIR}/costs.cpp
  ${CMAKE_CURRENT_LIST_DIR}/node_urls.cpp
  ${CMAKE_CURRENT_LIST_DIR}/output.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_process.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker_group.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_enqueue.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_drain.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_latency.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_restart.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_push.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_flow.cpp
  ${CMAKE_CURRENT_LIST_DIR}/workload_workflows.cpp
)
# errand_asio: workload P's push endpoint (Beast).
target_link_libraries(errand-bench PRIVATE errand_client errand_asio CLI11::CLI11 fmt::fmt Threads::Threads errand_warnings errand_malloc)
target_compile_definitions(errand-bench PRIVATE ERRAND_BENCH_DEFAULT_ERRAND="$<TARGET_FILE:errand>")
add_dependencies(errand-bench errand)

# errand-peer-worker: Errand's C++ workers in the shared peer harness
# (bench/peers/peer_errand.py): claims with the C++ worker runtime and appends
# the harness's 16-byte record per job.
add_executable(errand-peer-worker
  ${CMAKE_CURRENT_LIST_DIR}/node_urls.cpp
  ${CMAKE_CURRENT_LIST_DIR}/peer_worker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/worker_group.cpp
)
target_link_libraries(errand-peer-worker PRIVATE errand_client CLI11::CLI11 fmt::fmt Threads::Threads errand_warnings errand_malloc)
