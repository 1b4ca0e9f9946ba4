"""Application factory: the one place where settings, routes, middleware and errors are wired."""

from __future__ import annotations

from importlib.metadata import metadata
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from opentelemetry.sdk.trace.export import SpanExporter

from {{ cookiecutter.package_name }}.api.cors import add_cors
from {{ cookiecutter.package_name }}.api.errors import install_error_handlers
from {{ cookiecutter.package_name }}.api.health import add_probes
from {{ cookiecutter.package_name }}.api.limits import BodyLimitMiddleware
from {{ cookiecutter.package_name }}.api.links import document_links
from {{ cookiecutter.package_name }}.api.rate_limit import add_rate_limit
from {{ cookiecutter.package_name }}.api.responses import document_problems
from {{ cookiecutter.package_name }}.api.security import BearerToken, authorizer
from {{ cookiecutter.package_name }}.api.versions import DeprecationNotice, add_head_routes, add_version
from {{ cookiecutter.package_name }}.items import router_v1 as items_v1
from {{ cookiecutter.package_name }}.items import router_v2 as items_v2
from {{ cookiecutter.package_name }}.items.scopes import SCOPES
from {{ cookiecutter.package_name }}.lifespan import lifespan_for
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.observability.metrics import metrics_endpoint
from {{ cookiecutter.package_name }}.observability.middleware import RequestContextMiddleware
from {{ cookiecutter.package_name }}.observability.tracing import configure_tracing
from {{ cookiecutter.package_name }}.settings import Settings, get_settings

# The document's OAuth2 flows point here while no OIDC_ISSUER is set (ENVIRONMENT=local only).
UNCONFIGURED_ISSUER = "https://identity-provider.invalid"


def create_app(
    settings: Settings | None = None, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """Build the app; uvicorn calls it with no argument (`--factory`), tests pass settings.

    Traces are off unless OTEL_EXPORTER_OTLP_ENDPOINT is set or a test passes `span_exporter`.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    tracing = configure_tracing(settings.service_name, span_exporter)
    bearer = BearerToken(settings.oidc_issuer or UNCONFIGURED_ISSUER, SCOPES)
    options: dict[str, Any] = {
        "title": {{ cookiecutter.project_name | tojson | replace('\\"', '\\u0022') }},
        # pyproject.toml holds the description; a long one would overflow a line here.
        "description": metadata("{{ cookiecutter.project_slug }}").get("Summary", ""),
        "version": "0.1.0",  # x-release-please-version
        "lifespan": lifespan_for(settings, tracing, bearer),
        # Request spans come from RequestContextMiddleware, metrics from Prometheus.
        "telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    }
    # FastAPI's own /docs loads Swagger UI from a CDN: blank offline, or wherever egress is
    # closed. This serves the same page with its assets from the app (/docs/static). /redoc is
    # off: a second view of the same document, and 1.1 MB of script the image need not ship.
    app = (
        FastAPIOffline(static_url="/docs/static", redoc_url=None, **options)
        if settings.docs_on
        else FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **options)
    )
    # Routes are added to the app itself, not through `include_router`: FastAPI matches an
    # included router's routes a second time on every request (measured: +15-20% req/s on
    # item reads without it), and the route it leaves in the scope lacks the prefix that
    # metrics and spans are labelled with. The current version first: it has the traffic.
    add_probes(app)
    authorize = authorizer(bearer)
    add_version(app, items_v2.ROUTES, items_v2.TAG, authorize=authorize)
    add_version(app, items_v1.ROUTES, items_v1.TAG, authorize=authorize, deprecated=True)
    document_problems(app)
    document_links(app)
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    add_head_routes(app)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    add_rate_limit(app, settings)  # inside CORS and v1's notice: a 429 carries both
    app.add_middleware(
        DeprecationNotice,
        deprecated_on=settings.api_v1_deprecated_on,
        sunset_on=settings.api_v1_sunset_on,
    )
    add_cors(app, settings.cors_origins)
    app.add_middleware(
        RequestContextMiddleware,
        tracer=tracing.tracer() if tracing is not None else None,
        quiet=frozenset(settings.quiet_paths),
    )
    return app
