#!/usr/bin/env bash
# Three Errand nodes on one throwaway PostgreSQL, to try "Run several nodes"
# on one machine: starts a cluster (scripts/pg-cluster.sh) and three
# `errand server --store …` on 127.0.0.1, prints their URLs, and stops it all
# on Ctrl-C (SIGINT or SIGTERM), deleting the database.
#
#   scripts/dev-cluster.sh [--port 8741] [--dir DIR] [--nodes 3]
#
# --port: the first node's port; the others take the next ones (8742, 8743).
# --dir: where PostgreSQL and the nodes' logs live (default /tmp/errand-dev-cluster).
# The errand binary is $ERRAND_BIN, else `errand` on PATH, else build/release/errand.
# The nodes run without keys, so they answer this machine only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cluster="$here/pg-cluster.sh"
port=8741
dir=/tmp/errand-dev-cluster
nodes=3

while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dev-cluster: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

errand="${ERRAND_BIN:-}"
if [ -z "$errand" ]; then
  if command -v errand >/dev/null; then
    errand=$(command -v errand)
  elif [ -x "$here/../build/release/errand" ]; then
    errand="$here/../build/release/errand"
  else
    echo "dev-cluster: no errand binary: build it (make serve) or set ERRAND_BIN" >&2
    exit 1
  fi
fi

pids=()
# pg-cluster.sh replaces DIR, so the nodes' logs go beside it.
logs="$dir.logs"
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$cluster" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$logs"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

mkdir -p "$logs"
url=$("$cluster" start "$dir")
store="postgres://${url#postgresql://}&schema=errand"

urls=()
for i in $(seq 1 "$nodes"); do
  p=$((port + i - 1))
  log="$logs/node-$i.log"
  : >"$log"
  "$errand" server --listen "127.0.0.1:$p" --store "$store" >"$log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$p")
done

# Each node prints "errand listening on URL" once it serves.
for i in $(seq 1 "$nodes"); do
  log="$logs/node-$i.log"
  for _ in $(seq 1 600); do
    grep -q "errand listening on" "$log" && break
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
      echo "dev-cluster: node $i exited; its log ($log):" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "errand listening on" "$log" || { echo "dev-cluster: node $i did not start; see $log" >&2; exit 1; }
done

echo "PostgreSQL: $store"
for i in $(seq 1 "$nodes"); do
  echo "node $i: ${urls[$((i - 1))]} (pid ${pids[$((i - 1))]}, log $logs/node-$i.log)"
done
all=$(IFS=,; echo "${urls[*]}")
cat <<EOF
dashboard: ${urls[0]}/ (any node serves it)
Clients: ERRAND_URL=$all
Ctrl-C stops the nodes and deletes the database.
EOF

wait
