# The OpenAPI document (docs/openapi.yaml):
# - api_openapi_test: its paths and methods equal the server's route table
#   (src/api/openapi_test.cpp reads both from the code);
# - openapi.lint: Redocly's linter (npm @redocly/cli, pinned in
#   tests/openapi/package-lock.json; scripts/install-deps.sh test installs it),
#   every warning an error (tests/openapi/redocly.yaml);
# - integration.openapi (tests/integration.cmake's glob): the served JSON is
#   the YAML, and the answer check refuses what the document does not say.
#   That check runs on every answer of every integration suite.
errand_gtest(api_openapi_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/api/openapi_test.cpp
  LIBS errand_api)

find_program(NODE_EXECUTABLE node REQUIRED)
add_test(NAME openapi.lint
         COMMAND ${NODE_EXECUTABLE} node_modules/@redocly/cli/bin/cli.js lint
                 ${PROJECT_SOURCE_DIR}/docs/openapi.yaml --config redocly.yaml --format=codeframe
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/openapi)
set_tests_properties(openapi.lint PROPERTIES
                     ENVIRONMENT "REDOCLY_TELEMETRY=off;REDOCLY_SUPPRESS_UPDATE_NOTICE=true;NO_COLOR=1"
                     TIMEOUT 120
                     LABELS openapi)
