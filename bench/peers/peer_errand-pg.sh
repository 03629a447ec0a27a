#!/bin/bash
# Runs the Errand benchmark on PostgreSQL (results "errand-pg"): peer_errand.py with ERRAND_STORE_KIND=postgres,
# its own PostgreSQL 15 cluster started as the pg-boss and graphile peers start theirs. Bounded to 1800 s.
set -u
cd "$(dirname "$0")"
for b in "${ERRAND_BIN:-../release/errand}" "${ERRAND_PEER_WORKER:-../release/bench/errand-peer-worker}"; do
  [ -x "$b" ] || { echo "peer_errand-pg.sh: $b not found: build the release targets errand and errand-peer-worker" >&2; exit 2; }
done
mkdir -p results/old run
[ -f results/errand-pg.jsonl ] && mv results/errand-pg.jsonl results/old/errand-pg.$(date +%Y%m%d-%H%M%S).jsonl
ERRAND_STORE_KIND=postgres timeout -k 30 ${PEER_TIMEOUT:-1800} /usr/bin/python3 peer_errand.py 2>&1 | tee run/peer_errand-pg.out
exit ${PIPESTATUS[0]}
