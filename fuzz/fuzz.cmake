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
  LIBS OpenSSL::Crypto)
add_custom_target(fuzz_all DEPENDS ${errand_fuzz_targets})
