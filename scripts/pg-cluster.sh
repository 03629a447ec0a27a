#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster in one directory, for tests and development.
#
#   scripts/pg-cluster.sh start DIR [--tcp]   a fresh cluster in DIR; prints its URL
#   scripts/pg-cluster.sh stop DIR            stops it (fast shutdown) and deletes DIR
#   scripts/pg-cluster.sh url DIR             prints the URL of the cluster in DIR
#   scripts/pg-cluster.sh status DIR          exits 0 when the cluster in DIR is running
#   scripts/pg-cluster.sh check DIR           exits 0 when DIR can hold a cluster, else says why
#
# DIR holds data/ (the cluster), log (the server's), url and the Unix socket
# itself. DIR is made 0700 and belongs to the user the server runs as: when
# run as root that is `postgres` (PostgreSQL refuses to run as root), else the
# caller. Local (Unix socket) connections are trusted — only that user and
# root can reach DIR — and the server syncs every commit (fsync=on).
# --tcp also listens on 127.0.0.1, with password (SCRAM) authentication, and
# writes that URL to DIR/tcp-url.
#
# The cluster has a role `errand` (password `errand`; LOGIN, not a superuser,
# no CREATEDB/CREATEROLE) owning a database `errand`, as on a hosted service.
# The URL (libpq form) is written to DIR/url:
#   postgresql://errand:errand@/errand?host=DIR&port=PORT
#
# `start` replaces whatever cluster DIR held (a stale one from a killed run is
# stopped first) but refuses to touch a DIR that is not one of its own.
# `stop` is safe when nothing runs or DIR does not exist.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER="${PG_CLUSTER_USER:-postgres}"  # the server's user when run as root
MARKER=errand-pg-cluster                # file naming a DIR this script made
MAX_SOCKET_PATH=99                      # bytes of DIR/.s.PGSQL.PORT (sun_path is 108)

die() { echo "pg-cluster: $*" >&2; exit 1; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Runs a command as the cluster's user, from DIR (the user may not be allowed
# into the caller's working directory).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u "$PG_USER" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

# Percent-encodes a URL query value byte by byte (a DIR may hold spaces).
urlencode() {
  local LC_ALL=C s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9/._~-]) out+="$c" ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# The checks that need no cluster: an absolute, short enough DIR whose parents
# the server's user can enter. Prints the reason and fails otherwise.
check_dir() {
  local socket="$dir/.s.PGSQL.65535"
  if [ "${#socket}" -gt "$MAX_SOCKET_PATH" ]; then
    echo "pg-cluster: $dir is too long for the server's Unix socket ($socket is ${#socket} bytes," \
      "at most $MAX_SOCKET_PATH): use a shorter directory, e.g. under /tmp" >&2
    return 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    id -u "$PG_USER" >/dev/null 2>&1 || { echo "pg-cluster: there is no user $PG_USER to run the server as" >&2; return 1; }
    local parent
    parent=$(dirname "$dir")
    while [ ! -e "$parent" ]; do parent=$(dirname "$parent"); done
    if ! runuser -u "$PG_USER" -- test -x "$parent"; then
      echo "pg-cluster: user $PG_USER cannot enter $parent (the server runs as $PG_USER and keeps" \
        "its files in $dir): use a directory whose parents it can traverse, e.g. under /tmp" >&2
      return 1
    fi
  fi
  if [ -e "$dir" ] && ! ours; then
    echo "pg-cluster: $dir exists and is not a cluster made by this script: refusing to replace it" >&2
    return 1
  fi
}

# DIR is ours to replace: absent, empty, or marked by an earlier start.
ours() {
  [ ! -e "$dir" ] && return 0
  [ -d "$dir" ] || return 1
  [ -e "$dir/$MARKER" ] && return 0
  [ -z "$(ls -A "$dir")" ]
}

running() {
  [ -f "$dir/data/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

stop_cluster() {
  [ -d "$dir" ] || return 0
  ours || die "$dir is not a cluster made by this script: not touching it"
  if running; then
    as_owner "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null 2>&1 ||
      as_owner "$PG_BIN/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >/dev/null 2>&1 ||
      die "could not stop the server of $dir (see $dir/log)"
  fi
  rm -rf "$dir"
}

# A TCP port in the user range that nothing listens on now.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( (RANDOM << 15 | RANDOM) % 40000 + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ ! -e "$dir/.s.PGSQL.$port" ]; then
      echo "$port"
      return 0
    fi
  done
  die "found no free port"
}

# Single quotes for postgresql.conf.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

write_settings() {
  local port="$1" listen="''"
  [ "$tcp" = 1 ] && listen="'127.0.0.1'"
  cat >"$dir/data/errand.conf" <<EOF
# Written by scripts/pg-cluster.sh.
port = $port
listen_addresses = $listen
unix_socket_directories = $(conf_quote "$dir")
max_connections = 300
fsync = on
synchronous_commit = on
full_page_writes = on
password_encryption = 'scram-sha-256'
EOF
}

start_cluster() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed (no $PG_BIN/initdb): scripts/install-deps.sh test installs it"
  check_dir || exit 1
  stop_cluster
  mkdir -p "$dir"
  chmod 0700 "$dir"
  touch "$dir/$MARKER"
  [ "$(id -u)" -eq 0 ] && chown -R "$PG_USER:" "$dir"
  # --no-sync: a throwaway cluster need not wait for initdb's files; the
  # server itself syncs every commit (fsync=on).
  as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
    die "initdb failed: $(cat "$dir/initdb.log")"
  echo "include 'errand.conf'" | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
  local port attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(free_port)
    write_settings "$port"
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER:" "$dir/data/errand.conf"
    if as_owner "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/log" -w -t 60 >/dev/null 2>&1; then
      break
    fi
    # Someone took the port between the check and the start: another one.
    if [ "$attempt" -lt 10 ] && tail -n 20 "$dir/log" | grep -q "already in use\|could not create any TCP/IP sockets\|could not create lock file"; then
      continue
    fi
    die "the server did not start; the end of $dir/log:
$(tail -n 20 "$dir/log")"
  done
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE errand LOGIN PASSWORD 'errand' NOSUPERUSER NOCREATEDB NOCREATEROLE" \
    -c "CREATE DATABASE errand OWNER errand" >/dev/null ||
    die "could not create the role and database errand"
  local url
  url="postgresql://errand:errand@/errand?host=$(urlencode "$dir")&port=$port"
  echo "$url" >"$dir/url"
  [ "$tcp" = 1 ] && echo "postgresql://errand:errand@127.0.0.1:$port/errand" >"$dir/tcp-url"
  echo "$url"
}

cmd="${1:-}"
dir="${2:-}"
tcp=0
[ "${3:-}" = --tcp ] && tcp=1
if [ -z "$cmd" ] || [ -z "$dir" ]; then usage; fi
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir="${dir%/}"
case "$cmd" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  url) [ -f "$dir/url" ] || die "no cluster in $dir (scripts/pg-cluster.sh start $dir makes one)"; cat "$dir/url" ;;
  status) running ;;
  check) check_dir ;;
  *) usage ;;
esac
