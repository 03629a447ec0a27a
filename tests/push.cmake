# Push delivery: the address guard (pure) and the HTTP(S) client against
# loopback servers the tests run themselves (plain and TLS).
errand_gtest(address_guard_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/engine/push/address_guard_test.cpp
  LIBS errand_push)

errand_gtest(http_client_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/engine/push/http_client_test.cpp
  LIBS errand_push OpenSSL::SSL OpenSSL::Crypto)

# The OTLP/HTTP JSON span exporter: the encoding (pure) and delivery to a
# loopback receiver the test runs itself.
errand_gtest(otlp_test
  SOURCES ${PROJECT_SOURCE_DIR}/src/engine/otlp_test.cpp
  LIBS errand_push)
