# Errand — the two commands:
#   make serve   install what is missing, build a release binary, run the server
#   make test    install what is missing, build with sanitizers, run every test
.PHONY: serve build test test-debug bench format format-check clean deps deps-test

JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8740
DATA ?= ./errand-data

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target errand -j $(JOBS)

serve: build
	@exec ./build/release/errand server --listen $(LISTEN) --data $(DATA)

# Every test under Address+UB sanitizers (the integration tests run the
# sanitized server too), after the formatting check; the run ends with
# ctest's summary. `make test-debug` runs the same suite in a plain debug build.
test: deps-test format-check
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

test-debug: deps-test
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)
	@ctest --preset debug -j $(JOBS)

bench: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@./build/release/bench/errand-bench

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	@rm -rf build
