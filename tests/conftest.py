"""A real HTTP server on 127.0.0.1 standing in for the API, and a runner for the installed check."""

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TOKEN = "sk-sys-4b1d9c2e7f30a8d6e5c4b3a2918f7e6d"
SAMPLE = Path(__file__).resolve().parent.parent / "contrib" / "sample-response.json"

# The installed console script, as Nagios would run it: next to this
# interpreter in a virtual environment, else on PATH.
SCRIPT = shutil.which("check_laozhang_balance", path=os.path.dirname(sys.executable)) or shutil.which(
    "check_laozhang_balance")

GNU_TIME = shutil.which("time", path="/usr/bin:/bin")

_UOM = r"(s|ms|us|%|B|KB|MB|GB|TB|c)?"
_NUM = r"-?\d+(\.\d+)?"
_RANGE = r"(@?(~|%s)?:?(%s)?)" % (_NUM, _NUM)
STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
STATUS_LINE = re.compile(r"^LAOZHANG_BALANCE (OK|WARNING|CRITICAL|UNKNOWN) - \S")
PERFDATUM = re.compile(r"^('[^'=]+'|[^'= ]+)=%s%s(;%s){0,2}(;(%s)?){0,2}$" % (_NUM, _UOM, _RANGE, _NUM))


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


@pytest.fixture
def api():
    server = ApiServer()
    yield server
    server.close()


class Run:
    """One finished run of the check."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.seconds = proc.seconds
        self.peak_rss_mib = proc.peak_rss_mib
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = proc.stdout.splitlines()
        self.first = self.lines[0] if self.lines else ""
        status, _, perf = self.first.partition("|")
        self.status = status.strip()
        # With -v and up the performance data follows the long output.
        if not perf:
            perf = next((line[1:] for line in self.lines[1:] if line.startswith("|")), "")
        self.perf_text = perf.strip()
        self.perf = dict(p.split("=", 1) for p in self.perf_text.split()) if self.perf_text else {}


def run_check(*args, token=TOKEN, env=None, stdin=None, timeout=60, secrets=()):
    """Run the installed check; fail on anything no run may ever do, whatever the test is about."""
    assert SCRIPT, "check_laozhang_balance is not installed: pip install '.[test]'"
    assert GNU_TIME, "GNU time is not installed: apt-get install time"
    environ = {k: v for k, v in os.environ.items() if k != "LAOZHANG_ACCESS_TOKEN"}
    if token is not None:
        environ["LAOZHANG_ACCESS_TOKEN"] = token
    environ.update(env or {})
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r") as rss:
        # GNU time measures the check's own peak memory; wait4() in this
        # process would count the pre-exec copy of pytest as well.
        command = [GNU_TIME, "-f", "%M", "-o", rss.name, SCRIPT, *args]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=environ, start_new_session=True)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError("the check outlived the test's watchdog of %s s" % timeout) from None
        proc.seconds = time.monotonic() - started
        proc.peak_rss_mib = int(rss.read().split()[-1]) / 1024
    proc.stdout = out.decode("utf-8")
    proc.stderr = err.decode("utf-8")
    run = Run(proc)
    output = run.stdout + run.stderr
    for secret in (TOKEN, token, *secrets):
        if secret:
            assert secret not in output, "a secret leaked into the output"
    assert "Traceback" not in output, output
    assert run.code in (0, 1, 2, 3), run.code
    if not {"-h", "--help", "-V", "--version"} & set(args):
        match = STATUS_LINE.match(run.first)
        assert match, "not a plugin status line: %r" % run.first
        assert STATES.index(match.group(1)) == run.code, (run.first, run.code)
    for datum in run.perf_text.split():
        assert PERFDATUM.match(datum), "invalid performance data %r" % datum
    return run
