#!/usr/bin/env bash
# Installs the Debian packages Errand needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [build|test]
set -euo pipefail
build_pkgs=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev libssl-dev libjemalloc-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libhowardhinnant-date-dev tzdata
  nodejs python3 python3-yaml dpkg-dev
)
# The browser tests drive Debian's chromium with playwright-core (from npm,
# pinned in tests/browser/package-lock.json). The PostgreSQL tests start
# throwaway clusters of postgresql-15 (scripts/pg-cluster.sh) and reach them
# from Python with psycopg, from psql, and (the SQL enqueue test) from Node's
# pg client (npm, pinned in tests/sql-enqueue/package-lock.json). The build
# converts docs/openapi.yaml to JSON with PyYAML (python3-yaml); the
# integration tests validate every answer against it with python3-jsonschema,
# and the Python client package installs with Debian's pip and setuptools;
# its README's push handlers are served by Flask, FastAPI (on uvicorn) and
# Django in clients_python.frameworks. integration.metrics checks GET /metrics
# with promtool and has a real Prometheus (Debian's prometheus) scrape it.
# `make package` computes the .deb's dependencies with dpkg-shlibdeps
# (dpkg-dev); the install tests check the systemd unit with systemd-analyze
# (systemd) and render the man page with groff and man (groff-base, man-db).
test_pkgs=(googletest libgtest-dev libgmock-dev libbenchmark-dev python3 curl clang-format clang
  chromium fonts-dejavu-core postgresql-15 python3-psycopg python3-jsonschema
  python3-pip python3-setuptools python3-flask python3-fastapi python3-uvicorn python3-django
  prometheus systemd groff-base man-db)
mode="${1:-build}"
want=("${build_pkgs[@]}")
[ "$mode" = test ] && want+=("${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian ships npm apart from nodejs; other nodejs builds bring their own.
command -v npm >/dev/null 2>&1 || missing+=(npm)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm packages, pinned by each package-lock.json: installed when the pinned
# version of `package` is not the one in node_modules.
npm_install() {
  local dir="$1" package="$2" pinned have
  pinned=$(cd "$dir" && node -p "const p = require('./package.json'); (p.dependencies || p.devDependencies)['$package']")
  have=$(cd "$dir" && node -p "require('./node_modules/$package/package.json').version" 2>/dev/null || true)
  if [ "$pinned" != "$have" ]; then
    echo "installing the npm packages of ${dir#"$root"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
root="$(cd "$(dirname "$0")/.." && pwd)"
# The dashboard's chart library is compiled into the binary.
npm_install "$root/web" uplot
# The browser tests drive chromium with playwright-core.
[ "$mode" = test ] && npm_install "$root/tests/browser" playwright-core
# The SQL enqueue test runs an app transaction through Node's pg client.
[ "$mode" = test ] && npm_install "$root/tests/sql-enqueue" pg
# The OpenAPI document is linted with Redocly's CLI.
[ "$mode" = test ] && npm_install "$root/tests/openapi" @redocly/cli
# The JavaScript client's tests type-check it with typescript and render its
# React hook with react-dom, in chromium from a bundle esbuild makes (its
# devDependencies; it has no runtime ones).
[ "$mode" = test ] && npm_install "$root/clients/js" esbuild
exit 0
