#!/usr/bin/env bash
# Runs every test project of the solution and ends with one line: "N passed, N failed, N skipped".
# Usage: eng/test.sh [extra dotnet test arguments]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Installs a Debian package the tests need when it is missing (and no server was named instead): the package lists are
# updated once, however many packages a fresh machine needs.
apt_updated=""
install_if_missing() { # package, what it is for, the check that says it is there
  local package="$1" purpose="$2" check="$3"
  "$check" && return 0
  echo "eng/test.sh: installing $package (Debian package) for $purpose"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; else sudo_cmd="sudo"; fi
  if [ -z "$apt_updated" ]; then $sudo_cmd apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null
  "$check" || { echo "eng/test.sh: $package could not be installed"; exit 1; }
}

# The integration tests start their own PostgreSQL servers from the installed binaries (unless HELIX_TEST_PG_PRIMARY
# and HELIX_TEST_PG_SECONDARY name servers, or a Docker engine runs Testcontainers).
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
[ -n "${HELIX_TEST_PG_PRIMARY:-}" ] || install_if_missing postgresql "the integration tests" have_postgres

# The NATS replay tests start a nats-server with JetStream on 127.0.0.1 themselves (unless HELIX_TEST_NATS_URL names one).
have_nats() { command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; }
[ -n "${HELIX_TEST_NATS_URL:-}" ] || install_if_missing nats-server "the replay tests" have_nats

# The MariaDB tests start two throwaway mariadbd servers on 127.0.0.1 themselves (unless HELIX_TEST_MARIADB_PRIMARY and
# HELIX_TEST_MARIADB_SECONDARY name servers); the package's own service is not used (the test servers have their own
# data directories and ports, so it may run or not).
have_mariadb() { [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; }
[ -n "${HELIX_TEST_MARIADB_PRIMARY:-}" ] || install_if_missing mariadb-server "the MariaDB tests" have_mariadb

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
