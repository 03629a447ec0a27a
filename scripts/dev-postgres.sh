#!/usr/bin/env bash
# A local PostgreSQL 15 to try Errand on: starts a throwaway cluster
# (scripts/pg-cluster.sh) and prints the --store URL and how to stop it.
# Usage: scripts/dev-postgres.sh [DIR]   (default ./errand-pg)
#
# A cluster already running in DIR is kept and its URL printed again.
# Without DIR, a ./errand-pg whose socket path would be too long, or whose
# parents the server's user cannot enter, is replaced by a directory under /tmp.
set -euo pipefail
cluster="$(dirname "$0")/pg-cluster.sh"

if [ $# -gt 0 ]; then
  dir="$1"
  "$cluster" check "$dir" || exit 1
else
  dir="$PWD/errand-pg"
  if ! why=$("$cluster" check "$dir" 2>&1); then
    fallback="/tmp/errand-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-8)"
    echo "${why#pg-cluster: }"
    echo "Using $fallback instead."
    dir="$fallback"
    "$cluster" check "$dir" || exit 1
  fi
fi
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir="${dir%/}"

if "$cluster" status "$dir"; then
  echo "PostgreSQL is already running in $dir."
  url=$("$cluster" url "$dir")
else
  url=$("$cluster" start "$dir")
  echo "PostgreSQL 15 is running in $dir (Unix socket only; role errand, password errand, database errand)."
fi
# Errand's URL is the libpq one (postgres:// or postgresql://); `&schema=NAME` may be added.
store_url="postgres://${url#postgresql://}"
cat <<EOF

Start Errand on it:
  errand server --store '$store_url'
Look inside:
  psql '$url'
Stop it (this deletes $dir and its data):
  $cluster stop $(printf '%q' "$dir")
EOF
