"""Request-scoped dependencies shared by every feature, as `Annotated` aliases.

Each is one `async def`: FastAPI runs plain `def` dependencies in a thread pool, and every
nested or generator dependency adds its own resolution step to every request. A feature builds
its own dependencies (`items/deps.py`) on `resources_of`, the one typed read of the request
state the lifespan filled.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from {{ cookiecutter.package_name }}.resources import Resources


def resources_of(request: Request) -> Resources:
    """The process-wide resources the lifespan created (Starlette's request state is untyped)."""
    return cast("Resources", request.state.resources)


async def get_resources(request: Request) -> Resources:
    """The process-wide resources, as a dependency."""
    return resources_of(request)


ResourcesDep = Annotated[Resources, Depends(get_resources)]
