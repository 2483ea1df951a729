# Shared by scripts/fuzz-rest.sh and scripts/fuzz-graphql.sh (sourced, not run): builds todo-api,
# starts a private copy on a free loopback port over a temporary SQLite database, mints a token
# for `fuzz-user`, installs the pinned schemathesis into a virtualenv under ~/.cache on first
# use, runs it against the server, and fails on any `"level":"ERROR"` line in the server's log.
#
# The caller sets FUZZ_NAME (reports in $CARGO_TARGET_DIR/fuzz-$FUZZ_NAME/, config
# scripts/fuzz-$FUZZ_NAME.toml), FUZZ_PATH (what schemathesis loads), FUZZ_CHECKS, FUZZ_UNIT
# (what an example is generated for), and FUZZ_CONTRACT_COMMAND / FUZZ_CONTRACT_FILE (the
# committed contract that the binary must print byte for byte). FUZZ_MAX_EXAMPLES and FUZZ_SEED
# override the defaults.
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-50}"
SEED="${FUZZ_SEED:-20260118}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
# CPython 3.11's ast.parse fails ("AST constructor recursion depth mismatch") inside schemathesis'
# coverage phase on array-typed query parameters (the REST list's `tag` and `priority`): use a
# Python 3.12 or 3.13 when one runs here (this machine kind has them under pyenv), else python3.
python=python3
for candidate in python3.12 python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[23].*/bin/python3; do
  if "$candidate" -c 'import venv' >/dev/null 2>&1; then python=$candidate; break; fi
done
python_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
venv="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/todo-api-fuzz/venv-schemathesis-$SCHEMATHESIS_VERSION-py$python_version}"
report_dir="$target_dir/fuzz-$FUZZ_NAME"

echo "=== fuzz-$FUZZ_NAME: building todo-api"
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

if ! cmp -s <("$bin" "$FUZZ_CONTRACT_COMMAND") "$FUZZ_CONTRACT_FILE"; then
  echo "fuzz-$FUZZ_NAME: \`todo-api $FUZZ_CONTRACT_COMMAND\` differs from $FUZZ_CONTRACT_FILE;" \
       "regenerate it with: cargo run -q -- $FUZZ_CONTRACT_COMMAND > $FUZZ_CONTRACT_FILE" >&2
  exit 1
fi

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "=== fuzz-$FUZZ_NAME: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    # Debian ships venv separately.
    rm -rf "$venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
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
# Schemathesis sends many deliberately bad tokens from one address; throttling them (429) is
# tested on its own (tests/api/auth_jwks.rs), here it would only hide the answers under test.
export AUTH_FAILURES_PER_MINUTE=0

TODO_API_FUZZ_TOKEN="$(cd "$work" && "$bin" token --user fuzz-user --ttl 1h)"
export TODO_API_FUZZ_TOKEN
export TODO_API_FUZZ_CACHE="$report_dir/cache"

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
  echo "fuzz-$FUZZ_NAME: the server did not start:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
fi
echo "=== fuzz-$FUZZ_NAME: todo-api on http://$addr (SQLite in $work), schemathesis $SCHEMATHESIS_VERSION," \
     "$MAX_EXAMPLES examples per $FUZZ_UNIT, seed $SEED"

seed_args=(--seed "$SEED")
[ "$SEED" = random ] && seed_args=()
mkdir -p "$report_dir"
status=0
timeout 900 "$venv/bin/schemathesis" --config-file "scripts/fuzz-$FUZZ_NAME.toml" run "http://$addr$FUZZ_PATH" \
  --checks "$FUZZ_CHECKS" \
  --max-examples "$MAX_EXAMPLES" \
  "${seed_args[@]}" \
  --workers 2 \
  --request-timeout 10 \
  --report junit,har --report-junit-path "$report_dir/junit.xml" --report-har-path "$report_dir/exchanges.har" \
  || status=$?

# A 5xx fails the run above; an internal error logged without one would be a bug too.
if grep -q '"level":"ERROR"' "$work/server.log"; then
  echo "fuzz-$FUZZ_NAME: the server logged errors:" >&2
  grep '"level":"ERROR"' "$work/server.log" | head -20 | cut -c1-600 >&2
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "fuzz-$FUZZ_NAME: FAILED (exit $status); reports in $report_dir" >&2
  exit "$status"
fi
echo "=== fuzz-$FUZZ_NAME: passed (reports in $report_dir)"
