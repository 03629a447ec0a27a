# The client packages, tested against the real `errand` binary:
# - clients/js (npm errand-client): every clients/js/test/*.test.mjs is one
#   ctest test, clients_js.<name> (node:test); clients_js.types runs tsc on
#   the declarations and a small TypeScript app (typescript, react, react-dom
#   and esbuild pinned in clients/js/package-lock.json; scripts/install-deps.sh
#   test installs them). clients_js.react_browser renders the React hook in
#   Debian's chromium with tests/browser's playwright-core.
# - clients/python (errand): every clients/python/tests/test_*.py is one
#   ctest test, clients_python.<name> (unittest). clients_python.frameworks
#   serves the README's Flask, FastAPI and Django handlers with Debian's
#   python3-flask, python3-fastapi, python3-uvicorn and python3-django: it
#   runs on a Python that has them (Debian's when the one CMake found has
#   not, as the PostgreSQL tests find psycopg; without one it fails).
find_program(NODE_EXECUTABLE node REQUIRED)
set(errand_js_dir ${PROJECT_SOURCE_DIR}/clients/js)
file(GLOB errand_js_tests CONFIGURE_DEPENDS ${errand_js_dir}/test/*.test.mjs)
foreach(test_file IN LISTS errand_js_tests)
  get_filename_component(test_name ${test_file} NAME)
  string(REGEX REPLACE "\\.test\\.mjs$" "" test_name ${test_name})
  add_test(NAME clients_js.${test_name}
           COMMAND ${NODE_EXECUTABLE} --test --test-reporter=spec ${test_file}
           WORKING_DIRECTORY ${errand_js_dir})
  set_tests_properties(clients_js.${test_name} PROPERTIES
                       ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>"
                       TIMEOUT 300
                       LABELS clients)
endforeach()
set_tests_properties(clients_js.react_browser PROPERTIES LABELS "clients;browser")
add_test(NAME clients_js.types
         COMMAND ${NODE_EXECUTABLE} node_modules/typescript/bin/tsc -p test/types
         WORKING_DIRECTORY ${errand_js_dir})
set_tests_properties(clients_js.types PROPERTIES TIMEOUT 120 LABELS clients)

set(ERRAND_WEB_PYTHON "")
foreach(candidate IN ITEMS ${Python3_EXECUTABLE} /usr/bin/python3)
  execute_process(COMMAND ${candidate} -c "import flask, fastapi, uvicorn, django"
                  RESULT_VARIABLE errand_web_python_rc OUTPUT_QUIET ERROR_QUIET)
  if(errand_web_python_rc EQUAL 0)
    set(ERRAND_WEB_PYTHON ${candidate})
    break()
  endif()
endforeach()
if(NOT ERRAND_WEB_PYTHON)
  message(STATUS "No Python with Flask, FastAPI, uvicorn and Django: clients_python.frameworks will fail (scripts/install-deps.sh test installs them)")
  set(ERRAND_WEB_PYTHON ${Python3_EXECUTABLE})
endif()

set(errand_py_dir ${PROJECT_SOURCE_DIR}/clients/python)
file(GLOB errand_py_tests CONFIGURE_DEPENDS ${errand_py_dir}/tests/test_*.py)
foreach(test_file IN LISTS errand_py_tests)
  get_filename_component(test_name ${test_file} NAME_WE)
  string(REGEX REPLACE "^test_" "" test_name ${test_name})
  set(test_python ${Python3_EXECUTABLE})
  if(test_name STREQUAL "frameworks")
    set(test_python ${ERRAND_WEB_PYTHON})
  endif()
  add_test(NAME clients_python.${test_name}
           COMMAND ${test_python} -m unittest -v tests.test_${test_name}
           WORKING_DIRECTORY ${errand_py_dir})
  set_tests_properties(clients_python.${test_name} PROPERTIES
                       ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1"
                       TIMEOUT 300
                       LABELS clients)
endforeach()
