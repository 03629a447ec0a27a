# Integration tests: Python unittest suites that start the real `errand` binary
# on a free loopback port and speak HTTP to it (tests/integration/harness.py).
# Every tests/integration/test_*.py is one ctest test, labelled `integration`.
file(GLOB errand_integration_tests CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_*.py)
foreach(test_file IN LISTS errand_integration_tests)
  get_filename_component(test_name ${test_file} NAME_WE)
  string(REGEX REPLACE "^test_" "" test_name ${test_name})
  add_test(NAME integration.${test_name}
           COMMAND ${Python3_EXECUTABLE} -m unittest -v ${test_file}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(integration.${test_name} PROPERTIES
                       ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1"
                       TIMEOUT 300
                       LABELS integration)
endforeach()
set_tests_properties(integration.examples PROPERTIES
                     FIXTURES_REQUIRED cpp_worker_package
                     ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1;ERRAND_CPP_WORKER=${ERRAND_CPP_WORKER}")
