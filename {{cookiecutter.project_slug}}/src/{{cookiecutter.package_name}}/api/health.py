"""Kubernetes probes: liveness never touches dependencies; readiness checks the database."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from {{ cookiecutter.package_name }}.api.deps import ResourcesDep
from {{ cookiecutter.package_name }}.api.errors import problem
from {{ cookiecutter.package_name }}.db.engine import ping

READINESS_TIMEOUT = 2.0  # seconds; below the chart's readinessProbe timeout
router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Probe answer; `checks` names each dependency's state."""

    status: Literal["ok"]
    checks: dict[str, Literal["ok", "degraded"]] = {}


@router.get("/livez", summary="Liveness: the process serves requests")
async def livez() -> Health:
    """Restarting cannot fix a database outage, so liveness checks nothing else."""
    return Health(status="ok")


@router.get("/startupz", summary="Start-up finished", responses={503: {"model": None}})
async def startupz(request: Request, resources: ResourcesDep) -> Response:
    """200 once the lifespan finished wiring, so slow starts are not killed by liveness."""
    if not resources.started:
        return problem(request, 503, "Start-up has not finished.")
    return JSONResponse(Health(status="ok").model_dump())


@router.get(
    "/readyz", summary="Readiness: dependencies reachable", responses={503: {"model": None}}
)
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
