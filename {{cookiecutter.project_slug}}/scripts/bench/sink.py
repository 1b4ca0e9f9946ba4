"""A local OTLP/HTTP collector stand-in: O exports its spans here, and they are dropped."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from typing import Any


class _Sink(http.server.BaseHTTPRequestHandler):
    """OTLP/HTTP endpoint that accepts and drops every export."""

    exports = 0

    def do_POST(self) -> None:
        """Read the batch, answer 200."""
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:  # noqa: ANN401 - the stdlib's signature
        """Silent."""


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """A local collector stand-in, so exporting costs what it costs, with nothing to see."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{sink.server_address[1]}"
    finally:
        sink.shutdown()


def exports_received() -> int:
    """How many exports the sinks of this process have accepted."""
    return _Sink.exports
