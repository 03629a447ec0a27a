# Errand — the two commands:
#   make serve   install what is missing, build a release binary, run the server
#   make test    install what is missing, build with sanitizers, run every test
# and `make install` (PREFIX=/usr/local): the `errand` binary into $(PREFIX)/bin;
# `make package`: a Debian package of the server (binary, man page, systemd
# unit, /etc/errand/errand.toml) from a release build (docs/operations.md).
.PHONY: serve build install package test test-tsan test-debug fuzz bench bench-peers format format-check clean deps deps-test

JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8740
DATA ?= ./errand-data
PREFIX ?= /usr/local
BIN := build/release/errand

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target errand -j $(JOBS)

# Says where the binary is (the CLI commands of the README need it on PATH),
# then runs the server in the foreground.
serve: build
	@if [ "$$(command -v errand)" != "$(CURDIR)/$(BIN)" ]; then \
	  echo "errand is $(CURDIR)/$(BIN); for the errand commands, put it on your PATH:"; \
	  echo "  sudo make install      (copies it to $(PREFIX)/bin; make install PREFIX=~/.local needs no sudo)"; \
	  echo "  export PATH=\"$(CURDIR)/build/release:\$$PATH\"   (this shell only)"; \
	fi
	@exec ./$(BIN) server --listen $(LISTEN) --data $(DATA)

# Builds first only if there is no binary yet, so `sudo make install` after
# `make serve` copies the binary and writes nothing as root in build/.
install:
	@test -x $(BIN) || $(MAKE) --no-print-directory build
	@install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/errand
	@echo "installed $(DESTDIR)$(PREFIX)/bin/errand"

# build/release/errand_<version>_<arch>.deb: cpack's DEB generator packages
# the install's `server` component (cmake/package.cmake), its dependencies
# computed by dpkg-shlibdeps. `sudo apt install ./build/release/errand_*.deb`.
package: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target errand -j $(JOBS)
	@cd build/release && cpack -G DEB
	@ls build/release/errand_*.deb

# Every test under Address+UB sanitizers (the integration tests run the
# sanitized server too), after the formatting check, the fuzz targets (a fixed
# 50,000 inputs each) and the C++ unit, store, engine, client and push tests
# under ThreadSanitizer (the tsan preset: clang, whose build also checks the
# lock annotations, -Werror=thread-safety); the run ends with ctest's summary.
# `make test-debug` runs the same suite in a plain debug build.
test: deps-test format-check
	@FUZZ_RUNS=50000 scripts/fuzz.sh
	@$(MAKE) --no-print-directory test-tsan
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

# The GoogleTest suites (label unit) under ThreadSanitizer; a report fails
# the test (halt_on_error is off, so every report of a test is printed).
test-tsan: deps-test
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@ctest --preset tsan -j $(JOBS) --output-on-failure

# The libFuzzer targets (fuzz/), FUZZ_SECONDS (60) each, with clang
# (scripts/fuzz.sh: a crash fails it and names the input).
FUZZ_SECONDS ?= 60
fuzz: deps-test
	@scripts/fuzz.sh $(FUZZ_SECONDS)

test-debug: deps-test
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)
	@ctest --preset debug -j $(JOBS)

# errand-bench: the four workloads (A enqueue, B drain, C latency, D a million
# queued) against fresh release servers it starts itself; a few minutes; one
# table. Not run in CI. BENCH_ARGS passes options, e.g. BENCH_ARGS=--json.
bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target errand errand-bench -j $(JOBS)
	@./build/release/bench/errand-bench $(BENCH_ARGS)

# Errand side by side with the peers in one run (~30 minutes; not in CI): a
# writable copy of the shared harness (read-only where it is) in
# build/bench-peers, with bench/peers/peer_errand.* added and errand put in
# report.py's ORDER; the peers installed (Debian and npm packages, as root);
# then every peer and Errand's two variants. Table: build/bench-peers/RESULTS-table.md.
PEERS_SRC ?= ../shared/bench-peers
PEERS_DIR := build/bench-peers
PEERS ?= beanstalkd bullmq celery pgboss graphile errand errand-pg

bench-peers: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target errand errand-bench errand-peer-worker -j $(JOBS)
	@mkdir -p $(PEERS_DIR) && chmod -R u+w $(PEERS_DIR)
	@tar -C $(PEERS_SRC) --exclude=./results --exclude=./run -cf - . | tar -C $(PEERS_DIR) -xf -
	@chmod -R u+w $(PEERS_DIR)
	@cp bench/peers/peer_errand.py bench/peers/peer_errand.sh bench/peers/peer_errand-pg.sh $(PEERS_DIR)/
	@grep -q '"errand"' $(PEERS_DIR)/report.py || sed -i 's/^ORDER = \[/ORDER = ["errand", "errand-pg", /' $(PEERS_DIR)/report.py
	@INSTALL=$${INSTALL:-1} ERRAND_VERSION="errand $$(git describe --always --dirty)" \
	  ERRAND_BIN=$(CURDIR)/build/release/errand \
	  ERRAND_PEER_WORKER=$(CURDIR)/build/release/bench/errand-peer-worker \
	  $(PEERS_DIR)/run_all.sh $(PEERS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	@rm -rf build
