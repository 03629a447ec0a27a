#!/bin/bash
# Runs the Errand benchmark (A/B/C x ${BENCH_REPS:-3} per variant: Python plain-HTTP workers, then C++ workers;
# D once), bounded to 1800 s. Needs the release build: ERRAND_BIN (errand) and ERRAND_PEER_WORKER
# (errand-peer-worker), by default ../release/errand and ../release/bench/errand-peer-worker beside this folder.
# Every process it starts is stopped by PID on exit (see lib/harness.py); timeout also signals the process group.
set -u
cd "$(dirname "$0")"
for b in "${ERRAND_BIN:-../release/errand}" "${ERRAND_PEER_WORKER:-../release/bench/errand-peer-worker}"; do
  [ -x "$b" ] || { echo "peer_errand.sh: $b not found: build the release targets errand and errand-peer-worker" >&2; exit 2; }
done
mkdir -p results/old run
[ -f results/errand.jsonl ] && mv results/errand.jsonl results/old/errand.$(date +%Y%m%d-%H%M%S).jsonl
timeout -k 30 ${PEER_TIMEOUT:-1800} /usr/bin/python3 peer_errand.py 2>&1 | tee run/peer_errand.out
exit ${PIPESTATUS[0]}
