#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: Debian's clang) and runs
# each for SECONDS (default 60), starting from its seed corpus
# (fuzz/corpus/<name>) plus what earlier runs found (build/fuzz/corpus/<name>),
# after replaying its regression inputs (fuzz/regressions/<name>/*: inputs
# that once crashed). Fails on the first crash, leak or time-out, printing
# the input's file (build/fuzz/artifacts/); copy it into
# fuzz/regressions/<name>/ with the fix.
# With FUZZ_RUNS=N each runs N inputs from a fixed seed instead: the same
# inputs every time, as a test must (make test).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_RUNS=50000 scripts/fuzz.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target fuzz_all -j "$(nproc)"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(cd fuzz && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//'))
fi
mkdir -p build/fuzz/artifacts
for name in "${targets[@]}"; do
  bin="build/fuzz/fuzz_${name}"
  found="build/fuzz/corpus/${name}"
  mkdir -p "$found"
  if compgen -G "fuzz/regressions/${name}/*" >/dev/null; then
    "$bin" -runs=0 fuzz/regressions/"${name}"/* >/dev/null 2>&1 ||
      { echo "fuzz_${name}: a regression input fails again:"; "$bin" -runs=0 fuzz/regressions/"${name}"/*; exit 1; }
  fi
  log="build/fuzz/fuzz_${name}.log"
  if [ -n "${FUZZ_RUNS:-}" ]; then
    # Only the seeds: what earlier runs found would change the inputs. (New
    # inputs go to the first directory: an empty one, thrown away.)
    budget=(-runs="$FUZZ_RUNS" -seed=1)
    scratch="build/fuzz/scratch/${name}"
    rm -rf "$scratch" && mkdir -p "$scratch"
    corpora=("$scratch" "fuzz/corpus/${name}")
  else
    budget=(-max_total_time="$seconds")
    corpora=("$found" "fuzz/corpus/${name}")
  fi
  started=$(date +%s)
  if ! "$bin" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/"${name}"- \
      "${corpora[@]}" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_${name}: FAILED (the input is in build/fuzz/artifacts/)"
    exit 1
  fi
  took=$(( $(date +%s) - started ))
  [ "$took" -gt 0 ] || took=1
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  echo "fuzz_${name}: ${took}s, ${execs:-?} runs ($(( ${execs:-0} / took ))/s), coverage ${cov:-?} edges, no crash"
done
