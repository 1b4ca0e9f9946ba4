"""`make bench`: the service against three baselines, in one run, on one machine, with wrk.

C is a raw ASGI app (`bench/raw_asgi.py`), P a bare FastAPI app with the same routes on the
SQLAlchemy ORM, as a developer would write it (`bench/bare_fastapi.py`), L the same routes on a
raw asyncpg pool, the driver's limit (`bench/raw_asyncpg.py`, PostgreSQL only; every baseline
has the service's pool size), O the service itself with all its instrumentation on: traces exported
over OTLP (to a local sink; sampler from `--sample-ratio`), metrics, and JSON access logs at
INFO to a file (as in production, `/livez` is a quiet path: no span, no line unless it fails),
and authentication: a local identity provider (`scripts/local_idp.py`) serves its JWKS, and
every request carries its RS256 access token, which O checks against the cached key; and the
rate limit, counted per caller for every request as the chart configures it (`RATE_LIMIT`, set
far above what wrk sends, so none is refused).
All run under the same uvicorn settings (`server_options` of
`python -m {{ cookiecutter.package_name }}`), pinned to one core while wrk runs on another.
Rounds interleave the servers so machine noise hits each alike; figures are round medians.
On Linux each server's CPU time per request is read from /proc too, split into the thread that
serves requests and the rest (O's span exporter). With `--breakdown`, the item routes also run
O with traces off, O without access lines, O without authentication and O without the rate
limit, and the CPU they save prices each.

Routes: `/livez` (C, P, O); on a database (P, L, O) `GET /api/v2/items/{id}`{% if cookiecutter.cache == "redis" %} as a cache miss
(every request a new id: a database read plus a cache write) and as a cache hit (one warm id){% else %}, a
primary-key read{% endif %};
the first page of `GET /api/v2/items` with `limit=10` and `limit=100`, from which each
server's CPU per further item is reported; `POST /api/v2/items`, a new item each request; and
`PATCH /api/v2/items/{id}`, a merge patch of the price of a new item each request, with
`If-Match: *` for O. `--web-concurrency N` serves every server with WEB_CONCURRENCY=N
processes (with `--server-cpu 0,1`, say, to let them use both cores).
"""
