"""A stand-in for the balance API: a real HTTP server on 127.0.0.1 with canned or misbehaving answers.

Used by the tests and by the benchmark, so both measure the check against the same server.
"""

import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "contrib" / "sample-response.json"


def account(quota=24997909, used_quota=10027091, request_count=339, **extra):
    """A successful answer as the API documents it."""
    data = dict(json.loads(SAMPLE.read_text())["data"], quota=quota, used_quota=used_quota,
                request_count=request_count)
    data.update(extra)
    return {"success": True, "message": None, "data": data}


class Answer:
    """One canned HTTP answer: status, JSON (or raw bytes) body, headers, gzip or not."""

    def __init__(self, status=200, body=None, headers=None, gzip=True):
        self.status = status
        if body is None:
            body = account()
        self.body = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.headers = dict(headers or {})
        self.gzip = gzip

    def __call__(self, handler):
        body = gzip.compress(self.body) if self.gzip else self.body
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        if self.gzip:
            handler.send_header("Content-Encoding", "gzip")
        for name, value in self.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits
    # for the client's delayed ACK (40 ms after a TLS handshake), a stall
    # real servers (nginx, Go) do not have and the benchmark must not time.
    disable_nagle_algorithm = True

    def do_GET(self):
        self.server.seen.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
        self.server.behaviour(self)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A check that hangs up mid-answer is what several tests provoke, not a server failure."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class ApiServer:
    """The API's stand-in; `behaviour` is any callable that writes the answer to a handler."""

    def __init__(self, tls=None):
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.httpd.seen = []
        self.httpd.behaviour = Answer()
        # Set on close, so that behaviours that stall can stop stalling.
        self.httpd.closing = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        return "%s://127.0.0.1:%d/api/user/self" % (self.scheme, self.port)

    @property
    def seen(self):
        return self.httpd.seen

    def answer(self, *args, **kwargs):
        self.httpd.behaviour = Answer(*args, **kwargs)

    def behave(self, behaviour):
        self.httpd.behaviour = behaviour

    def close(self):
        self.httpd.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
