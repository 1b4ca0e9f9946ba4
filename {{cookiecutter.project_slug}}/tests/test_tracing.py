from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.observability.logging import REDACTED, configure_logging
from {{ cookiecutter.package_name }}.observability.middleware import RequestContextMiddleware
from {{ cookiecutter.package_name }}.observability.tracing import (
    EXPORT_BATCH_SIZE,
    build_resource,
    configure_tracing,
    export_batch_size,
    tracing_wanted,
)
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging("INFO", "json")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced_client(
    settings: Settings, exporter: InMemorySpanExporter, bearer: dict[str, str]
) -> AsyncIterator[AsyncClient]:
    app = create_app(settings, span_exporter=exporter)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url="http://test", headers=bearer
        ) as http,
    ):
        yield http


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def one(spans: list[ReadableSpan], kind: SpanKind, **attributes: object) -> ReadableSpan:
    found = [
        span
        for span in spans
        if span.kind == kind and attributes.items() <= dict(span.attributes or {}).items()
    ]
    assert len(found) == 1, [(s.name, s.kind, s.attributes) for s in spans]
    return found[0]


async def test_access_line_carries_the_exported_trace_id(
    capsys: pytest.CaptureFixture[str], traced_client: AsyncClient, exporter: InMemorySpanExporter
) -> None:
    configure_logging("INFO", "json")
    capsys.readouterr()
    response = await traced_client.get("/api/v2/items/42")
    assert response.status_code == 404
    assert (await traced_client.get("/livez")).status_code == 200  # probes are not traced
    access = [line for line in json_lines(capsys.readouterr().out) if line["logger"] == "access"]
    access = [line for line in access if line["http_route"] != "/livez"]
    spans = list(exporter.get_finished_spans())
    server = one(spans, SpanKind.SERVER, **{"http.route": "/api/v2/items/{item_id}"})
    assert server.context is not None
    assert len(access) == 1
    assert access[0]["trace_id"] == format(server.context.trace_id, "032x")
    assert access[0]["span_id"] == format(server.context.span_id, "016x")
    assert server.attributes is not None
    assert server.attributes["http.request.method"] == "GET"  # stable semantic conventions
    assert server.attributes["http.response.status_code"] == 404
    # The caller's identity from its token (the conftest's: subject and client "test-client").
    assert server.attributes["enduser.id"] == "test-client"
    assert server.attributes["oauth2.client_id"] == "test-client"
    assert access[0]["enduser_id"] == "test-client"
    queries = [s for s in spans if s.name.startswith("SELECT")]  # SQLAlchemy's client spans
    assert queries, [span.name for span in spans]
    for query in queries:  # children of the request's span, in its trace
        assert query.parent is not None
        assert query.parent.trace_id == server.context.trace_id
        assert query.parent.span_id == server.context.span_id
    assert not [span for span in spans if span.name.endswith(("http send", "http receive"))]
    assert not [span for span in spans if "/livez" in span.name]


async def test_request_span_joins_the_callers_trace(
    traced_client: AsyncClient, exporter: InMemorySpanExporter
) -> None:
    """W3C trace context in: the span continues the caller's trace, or is dropped with it."""
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    sampled = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    assert (await traced_client.get("/api/v2/items/42", headers=sampled)).status_code == 404
    server = one(list(exporter.get_finished_spans()), SpanKind.SERVER)
    assert server.name == "GET /api/v2/items/{item_id}"
    assert server.context is not None
    assert server.parent is not None
    assert format(server.context.trace_id, "032x") == trace_id
    assert format(server.parent.span_id, "016x") == parent_id
    exporter.clear()
    unsampled = {"traceparent": f"00-{'1' * 32}-{parent_id}-00"}
    assert (await traced_client.get("/api/v2/items/42", headers=unsampled)).status_code == 404
    assert not exporter.get_finished_spans(), "the caller decided not to sample this trace"


async def test_an_unsampled_request_runs_no_client_instrumentation() -> None:
    """Its client spans would be dropped with it, so SQLAlchemy's, Redis' and httpx's are off."""
    enabled: list[bool] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        enabled.append(is_instrumentation_enabled())
        await Response(status_code=204)(scope, receive, send)

    tracer = TracerProvider().get_tracer("test")  # parent-based: follows the caller's flag
    app = RequestContextMiddleware(endpoint, tracer=tracer)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        for flags in ("01", "00"):  # sampled, then not
            traceparent = f"00-{'1' * 32}-{'2' * 16}-{flags}"
            assert (await http.get("/", headers={"traceparent": traceparent})).status_code == 204
    assert enabled == [True, False]
    assert is_instrumentation_enabled(), "switched off for that request only"


async def test_no_span_without_an_exporter(client: AsyncClient) -> None:
    assert (await client.get("/livez")).status_code == 200
    assert "traceparent" not in (await client.get("/livez")).headers


def test_tracing_follows_the_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not tracing_wanted({})
    assert not tracing_wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert export_batch_size({}) == EXPORT_BATCH_SIZE
    assert export_batch_size({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"}) is None  # the SDK reads it
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert configure_tracing("svc") is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
    tracing = configure_tracing("svc")
    assert tracing is not None
    assert tracing.provider.resource.attributes["service.name"] == "svc"
    assert tracing.provider.resource.attributes["deployment.environment.name"] == "test"
    tracing.provider.shutdown()  # nothing queued: no export, no connection error
    monkeypatch.setenv("OTEL_SERVICE_NAME", "renamed")
    assert build_resource("svc").attributes["service.name"] == "renamed"


def test_secrets_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    structlog.get_logger("auth").info(
        "login",
        user="ada",
        password="hunter2",  # noqa: S106 - the secret under test
        headers={"Authorization": "Bearer abc", "Cookie": "session=1", "Accept": "json"},
        attempts=[{"api_key": "k"}],
    )
    (line,) = json_lines(capsys.readouterr().out)
    assert line["user"] == "ada"
    assert line["password"] == REDACTED
    assert line["headers"] == {"Authorization": REDACTED, "Cookie": REDACTED, "Accept": "json"}
    assert line["attempts"] == [{"api_key": REDACTED}]
    assert "hunter2" not in json.dumps(line)
