#!/usr/bin/env bash
# Contract fuzzing of the GraphQL layer: builds todo-api, starts it on a free loopback port over a
# temporary SQLite database, mints a token for `fuzz-user`, and runs schemathesis' GraphQL
# support (pinned, in the same virtualenv as scripts/fuzz-rest.sh) against POST /graphql, its
# schema loaded by introspection with that token: queries and mutations generated for every root
# field, valid and invalid. Fails on any 5xx, a body that is not a JSON object with `data` and/or
# `errors`, an error without a documented `extensions.code` or with INTERNAL_SERVER_ERROR
# (scripts/fuzz_graphql_checks.py), data that breaks the schema (a null in a non-null field),
# and any `"level":"ERROR"` line in the server's log.
#
#   scripts/fuzz-graphql.sh              # 50 examples per root field, fixed seed
#   FUZZ_MAX_EXAMPLES=500 FUZZ_SEED=random scripts/fuzz-graphql.sh
#
# Reports (junit.xml, and exchanges.har with every request and response) go to
# $CARGO_TARGET_DIR/fuzz-graphql/, with schemathesis' cache of failures (replayed first next time).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-50}"
SEED="${FUZZ_SEED:-20260118}"
# `not_a_server_error` is replaced by graphql_error_contract (scripts/fuzz_graphql_checks.py):
# schemathesis counts a resolver error with a code it does not know (NOT_FOUND for a random id)
# as a server failure, while a NOT_FOUND is the documented answer.
CHECKS=graphql_error_contract,response_schema_conformance

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
venv="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/todo-api-fuzz/venv-schemathesis-$SCHEMATHESIS_VERSION}"
report_dir="$target_dir/fuzz-graphql"

echo "=== fuzz-graphql: building todo-api"
cargo build --quiet --bin todo-api

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A private copy: the build directory may be shared with other checkouts that rebuild it.
cp "$target_dir/debug/todo-api" "$work/todo-api"
bin="$work/todo-api"

if ! cmp -s <("$bin" schema) schema.graphql; then
  echo "fuzz-graphql: \`todo-api schema\` differs from schema.graphql;" \
       "regenerate it with: cargo run -q -- schema > schema.graphql" >&2
  exit 1
fi

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "=== fuzz-graphql: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian ships venv separately.
    rm -rf "$venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# Configuration comes only from here (no .env from the checkout, no dev auth mode).
export DATABASE_URL="sqlite://$work/fuzz.db?mode=rwc"
export BIND_ADDR=127.0.0.1:0
export LOG_FORMAT=json
export RUST_LOG=info
export AUTO_MIGRATE=true
BETTER_AUTH_SECRET="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
export BETTER_AUTH_SECRET
unset BETTER_AUTH_URL JWKS_URL JWT_ISSUER JWT_AUDIENCE PORT
# As in fuzz-rest.sh: throttling failed authentications (429) is tested on its own
# (tests/api/auth_jwks.rs), here it would only hide the answers under test.
export AUTH_FAILURES_PER_MINUTE=0

TODO_API_FUZZ_TOKEN="$(cd "$work" && "$bin" token --user fuzz-user --ttl 1h)"
export TODO_API_FUZZ_TOKEN
export TODO_API_FUZZ_CACHE="$report_dir/cache"
export SCHEMATHESIS_HOOKS="$PWD/scripts/fuzz_graphql_checks.py"

(cd "$work" && exec "$bin" serve) >"$work/server.log" 2>&1 &
server_pid=$!

# Port 0: the server picks a free port and logs it.
addr=""
for _ in $(seq 1 100); do
  addr="$(sed -n 's/.*"message":"todo-api listening","addr":"\([0-9.:]*\)".*/\1/p' "$work/server.log" | head -1)"
  [ -n "$addr" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$addr" ]; then
  echo "fuzz-graphql: the server did not start:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
fi
echo "=== fuzz-graphql: todo-api on http://$addr (SQLite in $work), schemathesis $SCHEMATHESIS_VERSION," \
     "$MAX_EXAMPLES examples per root field, seed $SEED"

seed_args=(--seed "$SEED")
[ "$SEED" = random ] && seed_args=()
mkdir -p "$report_dir"
status=0
timeout 600 "$venv/bin/schemathesis" --config-file scripts/fuzz-graphql.toml run "http://$addr/graphql" \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" \
  "${seed_args[@]}" \
  --workers 2 \
  --request-timeout 10 \
  --report junit,har --report-junit-path "$report_dir/junit.xml" --report-har-path "$report_dir/exchanges.har" \
  || status=$?

# A 5xx fails the run above; an internal error logged without one would be a bug too.
if grep -q '"level":"ERROR"' "$work/server.log"; then
  echo "fuzz-graphql: the server logged errors:" >&2
  grep '"level":"ERROR"' "$work/server.log" | head -20 | cut -c1-600 >&2
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "fuzz-graphql: FAILED (exit $status); reports in $report_dir" >&2
  exit "$status"
fi
echo "=== fuzz-graphql: passed (reports in $report_dir)"
