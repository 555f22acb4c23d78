"""Schemathesis hooks for scripts/api-fuzz: a check that no role reaches
what the OpenAPI document says it may not, and the choice of operations
for one pass of a run.

Each operation of /openapi.json that needs a token lists the roles it
allows in `x-roles`; anonymous operations have none. The run's role comes
from API_FUZZ_ROLE (`anonymous` for a run without a token). A caller whose
role is not listed must be answered 401 or 403, whatever else the request
got wrong; a caller without a token must be answered 401.
"""

import os

import schemathesis

ROLE = os.environ.get("API_FUZZ_ROLE", "anonymous")
# Which operations this pass tests: `reachable` (those the role may call:
# for anonymous, the anonymous ones), `unreachable` (the others), or `all`.
PASS = os.environ.get("API_FUZZ_PASS", "all")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# An import's body is NDJSON: text, sent as the text it was drawn as.
schemathesis.serializer.alias("application/fhir+ndjson", "text/plain")


def reachable(operation):
    """Whether the run's role may call the operation, per its `x-roles`."""
    roles = operation.get("x-roles")
    if ROLE == "anonymous":
        return roles is None
    return roles is not None and ROLE in roles


@schemathesis.hook
def before_load_schema(context, raw_schema):
    """Keeps only the operations of this pass."""
    if PASS == "all":
        return
    paths = raw_schema.get("paths", {})
    for path in list(paths):
        item = paths[path]
        for method in [m for m in item if m in METHODS]:
            if reachable(item[method]) != (PASS == "reachable"):
                del item[method]
        if not any(m in METHODS for m in item):
            del paths[path]


@schemathesis.check
def role_is_enforced(ctx, response, case):
    """Fails when a role the operation does not allow gets past the door."""
    roles = case.operation.definition.raw.get("x-roles")
    # Requests with a method the route does not have (schemathesis probes
    # TRACE and the like) are answered 405 to anyone: nothing to reach.
    if roles is None or case.method.upper() != case.operation.method.upper():
        return None
    status = response.status_code
    if ROLE == "anonymous":
        if status != 401:
            raise AssertionError(
                f"{case.operation.label} needs a token (roles {', '.join(roles)}), "
                f"but a request without one was answered {status}, not 401"
            )
    elif ROLE not in roles and status not in (401, 403):
        raise AssertionError(
            f"{case.operation.label} allows only {', '.join(roles)}, "
            f"but the role {ROLE} was answered {status}, not 401 or 403"
        )
    return None
