"""Schemathesis hooks for scripts/api-fuzz: a check that no role reaches
what the OpenAPI document says it may not.

Each operation of /openapi.json that needs a token lists the roles it
allows in `x-roles`; anonymous operations have none. The run's role comes
from API_FUZZ_ROLE (`anonymous` for a run without a token). A caller whose
role is not listed must be answered 401 or 403, whatever else the request
got wrong; a caller without a token must be answered 401.
"""

import os

import schemathesis

ROLE = os.environ.get("API_FUZZ_ROLE", "anonymous")


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
