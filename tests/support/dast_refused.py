"""A schemathesis check for a run without a token: every protected operation answers 401.

schemathesis loads this file itself (SCHEMATHESIS_HOOKS) in its own tool virtualenv
(tests/tools/dast.txt); the suite never imports it. Its built-in `ignored_auth` check does not
cover OAuth2 schemes, hence this one. An operation is protected when the document gives it a
security requirement; every generated request to one must be a 401, except those whose path
parameters were generated invalid (they may miss the route: a 404 says nothing about auth),
those sent with another method (the coverage phase's 405 probes) and bodies that are not JSON.
After the run, every protected operation must have been refused at least once.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

# A body the service will not read at all (over MAX_BODY_BYTES, or not JSON) is refused at the
# edge (api/limits.py, a middleware) before any route, so before authentication too.
EDGE = {413, 415}


def unreadable(response: Any) -> bool:
    """Refused for a body that is not JSON at all: at the edge, or by FastAPI's JSON parser,
    which runs before any dependency (authentication included). A body that is JSON but not
    what the schema asks for must still be a 401: its errors would tell a stranger the schema."""
    if response.status_code in EDGE:
        return True
    problem = response.json()
    if response.status_code == 400:
        return bool(problem.get("detail") == "There was an error parsing the body")
    if response.status_code == 422:
        errors = problem.get("errors") or [{}]
        return all(error.get("type") == "json_invalid" for error in errors)
    return False


@schemathesis.check
class RefusedWithoutToken:
    """Per response: 401 on a protected operation; after the run: each one seen refused."""

    def __init__(self) -> None:
        self.protected: set[str] = set()
        self.refused: set[str] = set()

    def after_response(self, _ctx: Any, response: Any, case: Any) -> None:
        operation = case.operation
        if not operation.definition.raw.get("security"):
            return
        self.protected.add(operation.label)
        if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
            return
        if case.method.upper() != operation.method.upper():  # a probe for 405, sent as TRACE
            return
        if unreadable(response):
            return
        if response.status_code != 401:
            raise AssertionError(f"{operation.label} answered {response.status_code}, not 401")
        self.refused.add(operation.label)

    def after_run(self, _ctx: Any) -> None:
        if never := self.protected - self.refused:
            raise AssertionError(f"never seen refused: {sorted(never)}")
