#!/usr/bin/env bash
# Installs the Debian packages Errand needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [build|test]
set -euo pipefail
build_pkgs=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libhowardhinnant-date-dev tzdata
)
test_pkgs=(googletest libgtest-dev libgmock-dev libbenchmark-dev python3 curl nodejs clang-format)
want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
