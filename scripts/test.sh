#!/usr/bin/env bash
# The project's test command: the whole suite on SQLite, then the integration suite again on
# PostgreSQL (TEST_DATABASE_URL, default: the local server). Without a reachable PostgreSQL the
# second run is skipped and says so, unless REQUIRE_POSTGRES=1 (CI), which makes it a failure.
#
# Tests that need PostgreSQL are `#[ignore = "needs PostgreSQL: …"]`: cargo lists them as ignored
# in the SQLite run, and the PostgreSQL run includes them (`--include-ignored`). A test that skips
# part of itself at run time prints `SKIPPED <test>: <why>` (and fails instead when CI is set).
# At the end, passing or not, a summary says what each run passed, failed and did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

logs="$(mktemp -d)"
postgres_run="not run (the SQLite run failed first)"

# Totals of a run's `test result:` lines, then each ignored or skipped test with its reason.
summarize() {
  local name="$1" log="$logs/$1.log"
  [ -s "$log" ] || return 0
  awk -v name="$name" '/^test result:/ { p += $4; f += $6; i += $8 }
    END { printf "%s: %d passed, %d failed, %d ignored\n", name, p, f, i }' "$log"
  sed -n -e 's/^test \(.*\) \.\.\. ignored, \(.*\)$/  ignored  \1: \2/p' \
    -e 's/^test \(.*\) \.\.\. ignored$/  ignored  \1 (no reason given)/p' "$log"
  grep -o 'SKIPPED .*' "$log" | sed 's/^SKIPPED \(.*\)$/  skipped  \1 (in part; cargo counts it as passed)/' || true
}

summary() {
  local status=$?
  echo
  echo "=== summary: what ran, and what did not"
  summarize sqlite
  if [ -s "$logs/sqlite.log" ] && grep -q ' \.\.\. ignored' "$logs/sqlite.log"; then
    echo "  (the tests ignored on SQLite are the ones the PostgreSQL run includes)"
  fi
  if [ -s "$logs/postgres.log" ]; then
    summarize postgres
  else
    echo "postgres: $postgres_run"
  fi
  rm -rf "$logs"
  exit "$status"
}
trap summary EXIT

echo "=== todo-api tests on SQLite"
# Unset: a TEST_DATABASE_URL from the caller (CI sets one) would put this run on PostgreSQL too.
env -u TEST_DATABASE_URL cargo test --workspace --all-targets 2>&1 | tee "$logs/sqlite.log"

pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# host and port from postgres://user@host:port/db
hostport="${pg_url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=5432

if timeout 3 bash -c ">/dev/tcp/$host/$port" 2>/dev/null; then
  echo "=== todo-api tests on PostgreSQL ($host:$port)"
  TEST_DATABASE_URL="$pg_url" cargo test --test api -- --include-ignored 2>&1 | tee "$logs/postgres.log"
else
  postgres_run="SKIPPED: no PostgreSQL server answers at $host:$port (set TEST_DATABASE_URL); the tests ignored on SQLite did not run anywhere"
  echo "=== PostgreSQL run SKIPPED: no PostgreSQL server answers at $host:$port (set TEST_DATABASE_URL)"
  if [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "REQUIRE_POSTGRES=1: failing because the PostgreSQL run could not happen" >&2
    exit 1
  fi
fi
