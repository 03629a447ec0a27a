# PostgreSQL for the tests: the ctest fixture `postgres`, a throwaway
# PostgreSQL 15 cluster (scripts/pg-cluster.sh) that ctest starts before the
# first test needing it and stops after the last. A test needing it says
#   FIXTURES_REQUIRED postgres
#   ENVIRONMENT ERRAND_TEST_POSTGRES_URL_FILE=${ERRAND_PG_URL_FILE}
# and reads the libpq URL from that file:
#   postgresql://errand:errand@/errand?host=/tmp/errand-pg-…&port=PORT
# (role `errand`, not a superuser, owning database `errand`; every test should
# work in a schema of its own). ${PROJECT_BINARY_DIR}/postgres/tcp-url has the
# same cluster over 127.0.0.1 with password authentication.
#
# The cluster lives in /tmp/errand-pg-<hash of the build directory>, short
# enough for the Unix socket's path and apart for each build directory; its
# path is recorded in ${PROJECT_BINARY_DIR}/postgres/cluster-dir for the stop.
# A cluster left by a killed run is stopped and replaced by the next start.
#
# ERRAND_PG_PYTHON is a Python interpreter that has psycopg (Debian's
# python3-psycopg serves /usr/bin/python3, which may not be the first python3
# on PATH): the PostgreSQL tests written in Python run with it.

set(ERRAND_PG_STATE_DIR ${PROJECT_BINARY_DIR}/postgres)
set(ERRAND_PG_URL_FILE ${ERRAND_PG_STATE_DIR}/url)
string(SHA1 errand_pg_build_hash "${PROJECT_BINARY_DIR}")
string(SUBSTRING "${errand_pg_build_hash}" 0 10 errand_pg_build_hash)
set(ERRAND_PG_CLUSTER_DIR /tmp/errand-pg-${errand_pg_build_hash})
set(errand_pg_cluster_script ${PROJECT_SOURCE_DIR}/scripts/pg-cluster.sh)

set(ERRAND_PG_PYTHON "")
foreach(candidate IN ITEMS ${Python3_EXECUTABLE} /usr/bin/python3)
  execute_process(COMMAND ${candidate} -c "import psycopg" RESULT_VARIABLE errand_pg_python_rc
                  OUTPUT_QUIET ERROR_QUIET)
  if(errand_pg_python_rc EQUAL 0)
    set(ERRAND_PG_PYTHON ${candidate})
    break()
  endif()
endforeach()
if(NOT ERRAND_PG_PYTHON)
  message(STATUS "No Python with psycopg: the PostgreSQL tests will fail (scripts/install-deps.sh test installs it)")
  set(ERRAND_PG_PYTHON ${Python3_EXECUTABLE})
endif()

# bash -c 'script' with the paths as arguments: no quoting to get wrong.
add_test(NAME postgres_start
         COMMAND bash -c [[
set -e
mkdir -p "$1"
rm -f "$1/url" "$1/tcp-url"
echo "$2" >"$1/cluster-dir"
"$3" start "$2" --tcp >"$1/url.new"
mv "$1/url.new" "$1/url"
cp "$2/tcp-url" "$1/tcp-url"
echo "PostgreSQL for the tests in $2: $(cat "$1/url")"
]] postgres_start ${ERRAND_PG_STATE_DIR} ${ERRAND_PG_CLUSTER_DIR} ${errand_pg_cluster_script})
set_tests_properties(postgres_start PROPERTIES FIXTURES_SETUP postgres TIMEOUT 120 LABELS postgres)

add_test(NAME postgres_stop
         COMMAND bash -c [[
set -e
dir=$(cat "$1/cluster-dir" 2>/dev/null || echo "$2")
rm -f "$1/url" "$1/tcp-url"
"$3" stop "$dir"
rm -f "$1/cluster-dir"
]] postgres_stop ${ERRAND_PG_STATE_DIR} ${ERRAND_PG_CLUSTER_DIR} ${errand_pg_cluster_script})
set_tests_properties(postgres_stop PROPERTIES FIXTURES_CLEANUP postgres TIMEOUT 120 LABELS postgres)

# The fixture itself: the URL connects, as a plain role that may create a
# schema, to a server that syncs its commits.
add_test(NAME integration.postgres_cluster
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_postgres_cluster
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.postgres_cluster PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "ERRAND_TEST_POSTGRES_URL_FILE=${ERRAND_PG_URL_FILE};PYTHONDONTWRITEBYTECODE=1"
                     TIMEOUT 120
                     LABELS "integration;postgres")
