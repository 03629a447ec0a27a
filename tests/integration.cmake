# Integration tests: Python unittest suites that start the real `errand` binary
# on a free loopback port and speak HTTP to it (tests/integration/harness.py).
# Every tests/integration/test_*.py is one ctest test, labelled `integration`.
# (test_postgres_*.py, test_sql_enqueue.py and test_store_copy.py need the
# PostgreSQL fixture: they are registered below, and test_postgres_cluster.py,
# which tests the fixture, in postgres.cmake.)
file(GLOB errand_integration_tests CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_*.py)
list(FILTER errand_integration_tests EXCLUDE REGEX "/test_(postgres_[a-z_]*|sql_enqueue|store_copy)\\.py$")
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

# errand copy: SQLite into PostgreSQL (needs the fixture and the Python with psycopg).
add_test(NAME integration.store_copy
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_store_copy
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.store_copy PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1;ERRAND_TEST_POSTGRES_URL_FILE=${ERRAND_PG_URL_FILE}"
                     TIMEOUT 300
                     LABELS "integration;postgres")

# Transactional enqueue from SQL (<schema>.enqueue() in an app's transaction),
# from psycopg, psql and Node's pg client (tests/sql-enqueue/): PostgreSQL only.
add_test(NAME integration.sql_enqueue
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_sql_enqueue
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.sql_enqueue PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1;ERRAND_TEST_STORE=postgres;ERRAND_TEST_POSTGRES_URL_FILE=${ERRAND_PG_URL_FILE}"
                     TIMEOUT 300
                     LABELS "integration;postgres")

# The suites whose behaviour is the store's, once more on PostgreSQL
# (ERRAND_TEST_STORE=postgres: each server in a schema of its own in the
# fixture's cluster, tests/postgres.cmake), as integration_pg_<suite>; and
# test_postgres_failures.py, the server on PostgreSQL when things fail (its
# tests that restart PostgreSQL start a cluster of their own). Always on:
# scripts/install-deps.sh test installs PostgreSQL, so `make test` needs no
# manual step (an option defaulting to ON would stay OFF in a build
# directory configured before).
set(errand_pg_integration_suites
    lifecycle errors leases claims delay durability schedules push events failover dashboard_api
    nodes flow workflows metrics trace)
set(errand_pg_environment
    "ERRAND_BIN=$<TARGET_FILE:errand>;PYTHONDONTWRITEBYTECODE=1;ERRAND_TEST_STORE=postgres;ERRAND_TEST_POSTGRES_URL_FILE=${ERRAND_PG_URL_FILE}")
foreach(suite IN LISTS errand_pg_integration_suites)
  add_test(NAME integration_pg_${suite}
           COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_${suite}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(integration_pg_${suite} PROPERTIES
                       FIXTURES_REQUIRED postgres
                       ENVIRONMENT "${errand_pg_environment}"
                       TIMEOUT 600
                       LABELS "integration;postgres")
endforeach()
# The node registry with several servers on one schema (GET /v1/nodes, gone
# after kill -9, the stats summed over nodes, /healthz on a failed heartbeat).
add_test(NAME integration.postgres_registry
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_postgres_registry
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.postgres_registry PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "${errand_pg_environment}"
                     TIMEOUT 400
                     LABELS "integration;postgres")
add_test(NAME integration.postgres_failures
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_postgres_failures
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.postgres_failures PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "${errand_pg_environment}"
                     TIMEOUT 400
                     LABELS "integration;postgres")

# Dashboard sessions shared by two servers on one schema (login on one, use
# and log out on the other).
add_test(NAME integration.postgres_sessions
         COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_postgres_sessions
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(integration.postgres_sessions PROPERTIES
                     FIXTURES_REQUIRED postgres
                     ENVIRONMENT "${errand_pg_environment}"
                     TIMEOUT 300
                     LABELS "integration;postgres")
# Several nodes on one PostgreSQL schema (tests/integration/cluster_harness.py):
# one service across nodes, exact limits, what a node's death costs, and the
# chaos run (kill -9 of nodes and a crash-restart of a PostgreSQL of its own).
foreach(suite IN ITEMS nodes limits node_loss chaos)
  add_test(NAME integration.postgres_${suite}
           COMMAND ${ERRAND_PG_PYTHON} -m unittest -v test_postgres_${suite}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(integration.postgres_${suite} PROPERTIES
                       FIXTURES_REQUIRED postgres
                       ENVIRONMENT "${errand_pg_environment}"
                       TIMEOUT 300
                       LABELS "integration;postgres")
endforeach()
set_tests_properties(integration.postgres_chaos PROPERTIES TIMEOUT 600)
