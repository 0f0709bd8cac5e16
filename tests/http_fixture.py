"""A real HTTP server on 127.0.0.1 for download tests, with HTTP Range support (for resume)."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def serve_bytes(
    files: dict[str, bytes], honour_range: bool = True, cut_after: int | None = None, content_type: str | None = None
):
    """Serve ``files`` (path -> content); yields (base_url, list of received Range headers).

    ``cut_after``: every response states its full length but sends at most this many bytes and
    then closes the connection cleanly (a proxy or server that gives up halfway). ``content_type``: the
    Content-Type header every response sends (none by default). A Range that
    starts at or past the end gets 416, as real servers answer. Each request is recorded before
    its response is sent, so the client can never look before the record is there.
    """
    ranges: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = files.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            header = self.headers.get("Range")
            ranges.append(header)
            start = 0
            if honour_range and header and header.startswith("bytes="):
                start = int(header[6:].split("-")[0])
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            if content_type:
                self.send_header("Content-Type", content_type)
            if cut_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[start:] if cut_after is None else body[start : start + cut_after])
            if cut_after is not None:
                self.close_connection = True

        def log_message(self, *args):  # keep test output quiet
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", ranges


@contextlib.contextmanager
def serving(server):
    """``server`` answering in a thread until the block ends. shutdown() returns at serve_forever's
    next poll: 0.5 s by default, paid by every test that stops a server; here 10 ms."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
