#!/usr/bin/env bash
# Runs every test project of the solution and ends with one line: "N passed, N failed, N skipped".
# Usage: eng/test.sh [extra dotnet test arguments]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The integration tests start their own PostgreSQL servers from the installed binaries (unless HELIX_TEST_PG_PRIMARY
# and HELIX_TEST_PG_SECONDARY name servers, or a Docker engine runs Testcontainers). Install them on a fresh machine.
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
if [ -z "${HELIX_TEST_PG_PRIMARY:-}" ] && ! have_postgres; then
  echo "eng/test.sh: installing PostgreSQL (Debian package postgresql) for the integration tests"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; else sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
  have_postgres || { echo "eng/test.sh: PostgreSQL could not be installed"; exit 1; }
fi

# The NATS replay tests start a nats-server with JetStream on 127.0.0.1 themselves (unless HELIX_TEST_NATS_URL names
# one). Install the Debian package nats-server on a fresh machine.
have_nats() { command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; }
if [ -z "${HELIX_TEST_NATS_URL:-}" ] && ! have_nats; then
  echo "eng/test.sh: installing nats-server (Debian package nats-server) for the replay tests"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; else sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nats-server >/dev/null
  have_nats || { echo "eng/test.sh: nats-server could not be installed"; exit 1; }
fi

# The MariaDB tests start two throwaway mariadbd servers on 127.0.0.1 themselves (unless HELIX_TEST_MARIADB_PRIMARY and
# HELIX_TEST_MARIADB_SECONDARY name servers). Install the Debian package mariadb-server on a fresh machine; its own
# service is not used (the test servers have their own data directories and ports, so it may run or not).
have_mariadb() { [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; }
if [ -z "${HELIX_TEST_MARIADB_PRIMARY:-}" ] && ! have_mariadb; then
  echo "eng/test.sh: installing MariaDB (Debian package mariadb-server) for the MariaDB tests"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; else sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq mariadb-server >/dev/null
  have_mariadb || { echo "eng/test.sh: MariaDB could not be installed"; exit 1; }
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# One test project at a time (-m:1): the PostgreSQL fault and load tests and the unit tests' bounded waits do not
# compete for the two cores of a CI machine.
dotnet test Helix.Data.sln --configuration Release -m:1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Name the failed tests again at the end, where a reader of a long log looks first.
if grep -qE '^ +Failed [A-Za-z_]' "$log"; then
  echo "Failed tests:"
  grep -E '^ +Failed [A-Za-z_]' "$log" | sed 's/^ */  /'
fi

# Each test project prints: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
    gsub(",", "")
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  failed  += $(i + 1)
      if ($i == "Passed:")  passed  += $(i + 1)
      if ($i == "Skipped:") skipped += $(i + 1)
    }
    projects++
  }
  END {
    if (projects == 0) { failed += 1 }
    printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
  }' "$log"

exit "$status"
