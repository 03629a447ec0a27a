# Browser tests: node:test suites in tests/browser that start the real
# `errand` binary and drive Debian's chromium, headless, with playwright-core
# (installed by scripts/install-deps.sh test). Every tests/browser/*.test.mjs
# is one ctest test, labelled `browser`; screenshots land in artifacts/ of
# the build directory.
find_program(NODE_EXECUTABLE node REQUIRED)
file(GLOB errand_browser_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/browser/*.test.mjs)
foreach(test_file IN LISTS errand_browser_tests)
  get_filename_component(test_name ${test_file} NAME)
  string(REGEX REPLACE "\\.test\\.mjs$" "" test_name ${test_name})
  add_test(NAME browser.${test_name}
           COMMAND ${NODE_EXECUTABLE} --test --test-reporter=spec ${test_file}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/browser)
  set_tests_properties(browser.${test_name} PROPERTIES
                       ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;ERRAND_ARTIFACTS=${CMAKE_BINARY_DIR}/artifacts"
                       TIMEOUT 300
                       LABELS browser)
endforeach()
