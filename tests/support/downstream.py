"""A called service and a token relay on loopback ports, for the outbound token helper's tests.

The called service records the ``Authorization`` header of every request and answers 200 (or
401 to the first ``reject_first`` requests, as a service does for a token it no longer trusts).
The relay passes ``POST /token`` on to a real token endpoint and counts the requests that went
through, so a test can tell how many tokens the provider was asked for.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx


@dataclass
class Downstream:
    """What the called service and the relay saw; ``url`` serves both (``/token`` relays)."""

    token_endpoint: str
    url: str = ""
    reject_first: int = 0
    authorizations: list[str] = field(default_factory=list)
    token_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bearer_tokens(self) -> list[str]:
        return [value.removeprefix("Bearer ") for value in self.authorizations]


def _handler(state: Downstream) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/token":
                self.answer(404, b"", "text/plain")
                return
            with state.lock:
                state.token_requests += 1
            forwarded = {
                name: self.headers[name]
                for name in ("Authorization", "Content-Type", "Accept")
                if name in self.headers
            }
            upstream = httpx.post(state.token_endpoint, content=body, headers=forwarded, timeout=10)
            self.answer(upstream.status_code, upstream.content, upstream.headers["content-type"])

        def do_GET(self) -> None:  # http.server's naming
            with state.lock:
                state.authorizations.append(self.headers.get("Authorization", ""))
                rejected = len(state.authorizations) <= state.reject_first
            self.answer(401 if rejected else 200, b"{}", "application/json")

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on what was recorded, not on stderr."""

    return Handler


@contextmanager
def downstream(token_endpoint: str, *, reject_first: int = 0) -> Iterator[Downstream]:
    """Serve a called service and a relay to ``token_endpoint`` until the block ends."""
    state = Downstream(token_endpoint, reject_first=reject_first)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
