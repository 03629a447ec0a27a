# Errand — the two commands:
#   make serve   install what is missing, build a release binary, run the server
#   make test    install what is missing, build (debug + sanitizers), run every test
.PHONY: serve build test test-asan test-debug bench format format-check clean deps deps-test

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

# Every test twice: under Address+UB sanitizers (the server in the integration
# tests is the sanitized binary too), then the plain debug build, so the run
# ends with ctest's summary of the full suite.
test: deps-test format-check
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)
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
