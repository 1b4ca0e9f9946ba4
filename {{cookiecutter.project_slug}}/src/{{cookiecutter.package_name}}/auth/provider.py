"""The connection to the identity provider, for the lifespan: open, warm, close."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import httpx
import structlog

from {{ cookiecutter.package_name }}.auth.keys import KeySet
from {{ cookiecutter.package_name }}.auth.settings import AuthSettings
from {{ cookiecutter.package_name }}.auth.tokens import TokenVerifier

logger = structlog.get_logger(__name__)


@cache
def tls_context() -> ssl.SSLContext:
    """The default TLS settings of httpx, built once per process.

    Each new client otherwise loads the CA bundle again: ~25 ms of CPU per app start, about
    10 s of the generated tests (which start some 200 apps).
    """
    return httpx.create_ssl_context()


@asynccontextmanager
async def open_verifier(settings: AuthSettings) -> AsyncIterator[TokenVerifier | None]:
    """A verifier with the provider's keys fetched once, or None when authentication is off.

    An unreachable provider does not stop the start: the first token with a `kid` refetches
    (rate-limited), and readiness stays independent of it, so an outage of the shared provider
    does not take every service out of its load balancer.
    """
    if settings.oidc_issuer is None or settings.oidc_audience is None:
        logger.warning("authentication is off: ENVIRONMENT=local and no OIDC_ISSUER")
        yield None
        return
    async with httpx.AsyncClient(timeout=settings.oidc_http_timeout, verify=tls_context()) as http:
        keys = KeySet(
            settings.oidc_issuer,
            http,
            refresh_interval=settings.oidc_jwks_refresh_seconds,
            max_age=settings.oidc_jwks_max_age_seconds,
        )
        await keys.refresh()
        yield TokenVerifier(
            keys,
            audience=settings.oidc_audience,
            algorithms=settings.oidc_algorithms,
            leeway=settings.oidc_leeway_seconds,
        )
