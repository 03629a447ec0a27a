# libFuzzer targets, one per input parser (the `fuzz` preset: Debian's clang
# with -fsanitize=fuzzer-no-link,address,undefined on everything it builds).
# scripts/fuzz.sh builds them and runs each with its seed corpus
# (fuzz/corpus/<name>) and its regression inputs (fuzz/regressions/<name>).
set(errand_fuzz_targets)
function(errand_fuzz name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(fuzz_${name} ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${name}.cpp ${F_SOURCES})
  target_link_libraries(fuzz_${name} PRIVATE errand_core ${F_LIBS})
  target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  set(errand_fuzz_targets ${errand_fuzz_targets} fuzz_${name} PARENT_SCOPE)
endfunction()

errand_fuzz(cron)
errand_fuzz(duration)
errand_fuzz(json_bodies)
errand_fuzz(push_answer)
errand_fuzz(answers SOURCES ${PROJECT_SOURCE_DIR}/src/client/wire.cpp LIBS Boost::url)
errand_fuzz(work_directive SOURCES ${PROJECT_SOURCE_DIR}/src/cli/work_protocol.cpp)
errand_fuzz(tokens
  SOURCES ${PROJECT_SOURCE_DIR}/src/api/auth.cpp ${PROJECT_SOURCE_DIR}/src/api/host_policy.cpp
          ${PROJECT_SOURCE_DIR}/src/api/session_cookie.cpp
  LIBS OpenSSL::Crypto)
# Beast's parser from its headers (no errand_asio), the route table from the
# OpenAPI document (no handlers, no engine).
errand_fuzz(http_request
  SOURCES ${PROJECT_SOURCE_DIR}/src/api/request_head.cpp ${PROJECT_SOURCE_DIR}/src/api/routing.cpp
          ${PROJECT_SOURCE_DIR}/src/api/host_policy.cpp ${PROJECT_SOURCE_DIR}/src/api/cors.cpp
          ${PROJECT_SOURCE_DIR}/src/api/errors.cpp ${PROJECT_SOURCE_DIR}/src/api/session_cookie.cpp
          ${PROJECT_SOURCE_DIR}/src/api/job_bodies.cpp ${PROJECT_BINARY_DIR}/generated/openapi.cpp
  LIBS Boost::url OpenSSL::Crypto)
errand_fuzz(job_bodies
  SOURCES ${PROJECT_SOURCE_DIR}/src/api/job_bodies.cpp ${PROJECT_SOURCE_DIR}/src/api/worker_bodies.cpp)
# toml++ from its headers (not Debian's shared library), so its parser is
# instrumented too. Not checked for reaching __builtin_unreachable: toml++
# 3.3.0 does on some non-ASCII characters (is_non_ascii_horizontal_whitespace,
# tomlplusplus issue #190 upstream; Debian's GCC build answers "not whitespace").
errand_fuzz(config_toml
  SOURCES ${PROJECT_SOURCE_DIR}/src/cli/config_file.cpp ${PROJECT_SOURCE_DIR}/src/cli/store_choice.cpp
          ${PROJECT_SOURCE_DIR}/src/api/cors.cpp ${PROJECT_SOURCE_DIR}/src/api/errors.cpp
          ${PROJECT_SOURCE_DIR}/src/api/host_policy.cpp
          ${PROJECT_SOURCE_DIR}/src/engine/push/address_guard.cpp
  LIBS Boost::url)
target_compile_definitions(fuzz_config_toml PRIVATE TOML_HEADER_ONLY=1)
target_compile_options(fuzz_config_toml PRIVATE -fno-sanitize=unreachable)
add_custom_target(fuzz_all DEPENDS ${errand_fuzz_targets})
