"""Schemathesis hooks for scripts/fuzz-graphql.sh: the GraphQL error contract of todo-api.

Loaded through SCHEMATHESIS_HOOKS. Schemathesis' own `not_a_server_error` treats any resolver
error whose code it does not know (NOT_FOUND for a random id, say) as a server failure, so the
script replaces it with `graphql_error_contract`, which holds the server to docs/api.md#graphql-errors.
"""

import json

import schemathesis

# docs/api.md#graphql-errors, plus the HTTP-level refusals of the handler. SERVICE_UNAVAILABLE is
# documented but means the database is unreachable: never expected from a healthy SQLite file.
# INTERNAL_SERVER_ERROR is documented too, and is exactly what this fuzzing must never provoke.
ALLOWED_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        # A random expectedVersion, or a random idempotencyKey still being created.
        "CONFLICT",
        "BAD_REQUEST",
        "TOO_MANY_REQUESTS",
        "PAYLOAD_TOO_LARGE",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
    }
)


@schemathesis.check
def graphql_error_contract(ctx, response, case):
    """No 5xx; a JSON object with `data` and/or `errors`; every error coded from the documented set."""
    status = response.status_code
    body = response.content[:2000].decode("utf-8", "replace")
    if status >= 500:
        raise AssertionError(f"HTTP {status} (the server must never answer 5xx here): {body}")
    try:
        payload = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"HTTP {status}: the body is not JSON ({exc}): {body}") from None
    if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
        raise AssertionError(f"HTTP {status}: neither `data` nor `errors` in {body}")
    errors = payload.get("errors") or []
    if not isinstance(errors, list):
        raise AssertionError(f"HTTP {status}: `errors` is not a list: {body}")
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"HTTP {status}: INTERNAL_SERVER_ERROR: {body}")
        if code not in ALLOWED_CODES:
            raise AssertionError(
                f"HTTP {status}: error without a documented `extensions.code` ({code!r}): {json.dumps(error)[:1000]}"
            )
    if status == 200 and "data" not in payload and not errors:
        raise AssertionError(f"HTTP 200 without data or errors: {body}")
