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

FUZZ_NAME=graphql
FUZZ_PATH=/graphql
FUZZ_UNIT="root field"
FUZZ_CONTRACT_COMMAND=schema
FUZZ_CONTRACT_FILE=schema.graphql
# `not_a_server_error` is replaced by graphql_error_contract (scripts/fuzz_graphql_checks.py):
# schemathesis counts a resolver error with a code it does not know (NOT_FOUND for a random id)
# as a server failure, while a NOT_FOUND is the documented answer.
FUZZ_CHECKS=graphql_error_contract,response_schema_conformance

export SCHEMATHESIS_HOOKS="$PWD/scripts/fuzz_graphql_checks.py"
# shellcheck source=scripts/fuzz-common.sh
source scripts/fuzz-common.sh
