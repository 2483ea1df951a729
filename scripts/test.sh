#!/usr/bin/env bash
# The project's test command: the whole suite on SQLite, then the integration suite again on
# PostgreSQL (TEST_DATABASE_URL, default: the local server). Without a reachable PostgreSQL the
# second run is skipped and says so, unless REQUIRE_POSTGRES=1 (CI), which makes it a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "=== todo-api tests on SQLite"
cargo test --workspace --all-targets

pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# host and port from postgres://user@host:port/db
hostport="${pg_url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=5432

if timeout 3 bash -c ">/dev/tcp/$host/$port" 2>/dev/null; then
  echo "=== todo-api tests on PostgreSQL ($host:$port)"
  TEST_DATABASE_URL="$pg_url" cargo test --test api
else
  echo "=== PostgreSQL run SKIPPED: no PostgreSQL server answers at $host:$port (set TEST_DATABASE_URL)"
  if [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "REQUIRE_POSTGRES=1: failing because the PostgreSQL run could not happen" >&2
    exit 1
  fi
fi
