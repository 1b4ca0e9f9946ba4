"""Kubernetes probes: liveness checks nothing, readiness the database, start-up the schema."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from {{ cookiecutter.package_name }}.api.deps import ResourcesDep
from {{ cookiecutter.package_name }}.api.errors import problem
from {{ cookiecutter.package_name }}.api.responses import problem_response, problem_responses
from {{ cookiecutter.package_name }}.db.engine import ping
from {{ cookiecutter.package_name }}.db.schema import current_revisions

READINESS_TIMEOUT = 2.0  # seconds; below the chart's readinessProbe timeout
# Any request may be too large or meet a bug; the probes that check something may say 503.
LIVENESS_ERRORS = problem_responses(413, 500)
PROBE_ERRORS = {**LIVENESS_ERRORS, 503: problem_response("Not ready: see `detail`")}


class Health(BaseModel):
    """Probe answer; `checks` names each dependency's state."""

    status: Literal["ok"]
    checks: dict[str, Literal["ok", "degraded"]] = {}


async def livez() -> Health:
    """Restarting cannot fix a database outage, so liveness checks nothing else."""
    return Health(status="ok")


async def startupz(request: Request, resources: ResourcesDep) -> Response:
    """503 until the database schema is at (or past) this build's migrations head.

    A pod started before the migration Job finished would fail on its first new column; the
    kubelet holds liveness and readiness until this answers 200. Once it has, the answer is
    latched: the schema does not move backwards under a running build.
    """
    if not resources.started:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT):
                current = await current_revisions(resources.engine)
        except (SQLAlchemyError, OSError, TimeoutError):
            down = {"database": "down"}
            return problem(request, 503, "The database is not reachable.", checks=down)
        if not resources.schema.reached_by(current):
            return problem(
                request,
                503,
                "The database schema is behind this build: run `alembic upgrade head`.",
                schema={"database": sorted(current), "expected": sorted(resources.schema.heads)},
            )
        resources.started = True
    return JSONResponse(Health(status="ok").model_dump())


async def readyz(request: Request, resources: ResourcesDep) -> Response:
    """503 takes the pod out of the Service until the database answers again."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            await ping(resources.engine)
    except (SQLAlchemyError, OSError, TimeoutError):
        return problem(request, 503, "The database is not reachable.", checks={"database": "down"})
    checks: dict[str, Literal["ok", "degraded"]] = {"database": "ok"}
    if resources.cache_check is not None:
        checks["cache"] = "ok" if await resources.cache_check() else "degraded"
    return JSONResponse(Health(status="ok", checks=checks).model_dump())


def add_probes(app: FastAPI) -> None:
    """Add the probes to the app itself rather than through an included router.

    The kubelet calls them every few seconds, and each level of router inclusion is one more
    routing pass per request.
    """
    tags: list[str | Enum] = ["health"]
    app.add_api_route(
        "/livez",
        livez,
        summary="Liveness: the process serves requests",
        responses=LIVENESS_ERRORS,
        tags=tags,
    )
    app.add_api_route(
        "/startupz", startupz, summary="Start-up finished", responses=PROBE_ERRORS, tags=tags
    )
    app.add_api_route(
        "/readyz",
        readyz,
        summary="Readiness: dependencies reachable",
        responses=PROBE_ERRORS,
        tags=tags,
    )
