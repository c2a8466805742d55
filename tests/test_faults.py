"""Fault injection: a misbehaving server, network and token, and one clean UNKNOWN line for each.

For every case, at every verbosity: exit 3, the exact first line, no traceback, no token, done
within --timeout plus a second, and small peak memory (run_check asserts the invariants that hold
for every run; `unknown` adds the rest).
"""

import gzip
import os
import ssl
import subprocess
import zlib

import pytest
import trustme

from conftest import SCRIPT, TOKEN, free_port, run_check
from fake_api import Answer, ApiServer
from tls_certs import ca_name

DEADLINE = 2
SLACK = 1.5  # the issue's "about one second", plus the interpreter's start-up
PEAK_RSS_MIB = 35
VERBOSITIES = ([], ["-v"], ["-vv"], ["-vvv"])


def unknown(args, expected, env=None, token=TOKEN, secrets=()):
    """Run at every verbosity; each must be UNKNOWN with exactly `expected`, in time, in little memory."""
    runs = []
    for verbosity in VERBOSITIES:
        run = run_check(*args, "-t", str(DEADLINE), *verbosity, env=env, token=token, secrets=secrets)
        assert run.code == 3, run.stdout
        assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected
        assert run.seconds < DEADLINE + SLACK, run.seconds
        assert run.peak_rss_mib < PEAK_RSS_MIB, run.peak_rss_mib
        runs.append(run)
    return runs


# HTTP errors

@pytest.mark.parametrize("answer, expected", [
    (Answer(500, {"success": False, "message": "internal error"}),
     "the API is failing (HTTP 500 Internal Server Error, API says 'internal error'), a fault on the server's "
     "side: wait, or ask its operator"),
    (Answer(502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", gzip=False),
     "the API is failing (HTTP 502 Bad Gateway), a fault on the server's side: wait, or ask its operator"),
    (Answer(503, b"", headers={"Retry-After": "120"}, gzip=False),
     "the API is failing (HTTP 503 Service Unavailable, retry after 120 s), a fault on the server's side: wait, "
     "or ask its operator"),
    (Answer(429, {"success": False, "message": "too many requests"}, headers={"Retry-After": "30"}),
     "rate limited by the API (HTTP 429 Too Many Requests, API says 'too many requests', retry after 30 s): "
     "check less often"),
    (Answer(429, b"", gzip=False),
     "rate limited by the API (HTTP 429 Too Many Requests): check less often"),
    (Answer(404, b"404 page not found", gzip=False),
     "no balance endpoint at this address (HTTP 404 Not Found): check --url"),
], ids=["500-json", "502-html", "503-retry-after", "429-body", "429-empty", "404"])
def test_http_errors(api, answer, expected):
    api.behave(answer)
    unknown(["--url", api.url], expected)


# Broken bodies

def _data(**fields):
    data = {"quota": 1, "used_quota": 1, "request_count": 1}
    data.update(fields)
    return {"success": True, "data": {k: v for k, v in data.items() if v is not _GONE}}


_GONE = object()


@pytest.mark.parametrize("body, expected", [
    (b"", "the answer is empty, not JSON"),
    (b"{\"success\": true, \"data\": {", "the answer is not valid JSON"),
    (b"[1, 2]", "the answer is JSON but a list, not an object with 'data'"),
    (b"null", "the answer is JSON but null, not an object with 'data'"),
    (b"<!DOCTYPE html><html><body>Welcome</body></html>",
     "the answer is an HTML page, not JSON: is --url the API endpoint?"),
    ({"success": True}, "the answer has no 'data' object (missing)"),
    ({"success": True, "data": None}, "the answer has no 'data' object (null instead)"),
    (_data(quota=_GONE), "the answer's data has no 'quota'"),
    (_data(quota="12345"), "the answer's data.quota is a string, not a number"),
    (_data(quota=True), "the answer's data.quota is a boolean, not a number"),
    (b'{"success": true, "data": {"quota": NaN, "used_quota": 1, "request_count": 1}}',
     "the answer is not valid JSON"),
    (b'{"success": true, "data": {"quota": Infinity, "used_quota": 1, "request_count": 1}}',
     "the answer is not valid JSON"),
    (b'{"success": true, "data": {"quota": 1e999, "used_quota": 1, "request_count": 1}}',
     "the answer's data.quota is not a plausible number"),
], ids=["empty", "invalid-json", "list", "null", "html-200", "data-missing", "data-null", "quota-missing",
        "quota-string", "quota-boolean", "quota-nan", "quota-infinity", "quota-1e999"])
def test_broken_bodies(api, body, expected):
    api.answer(200, body)
    unknown(["--url", api.url], expected)


def _truncated(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "400")
    handler.end_headers()
    handler.wfile.write(b'{"success": true, "data": {"quota": 1')
    handler.wfile.flush()
    handler.close_connection = True


def test_truncated_body(api):
    api.behave(_truncated)
    unknown(["--url", api.url], "the connection broke before the whole answer arrived (37 bytes read)")


def _not_really_gzip(handler):
    body = b'{"success": true, "data": {"quota": 1, "used_quota": 1, "request_count": 1}}'
    handler.send_response(200)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_gzip_header_on_a_plain_body(api):
    api.behave(_not_really_gzip)
    unknown(["--url", api.url], "the answer says it is gzip-compressed but is not")


def test_gzip_cut_short(api):
    whole = gzip.compress(b'{"success": true, "data": {"quota": 1, "used_quota": 1, "request_count": 1}}')

    def cut(handler):
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(whole) - 8))
        handler.end_headers()
        handler.wfile.write(whole[:-8])

    api.behave(cut)
    unknown(["--url", api.url], "the answer's gzip stream is cut short")


# Size

def _huge(handler):
    size = 64 << 20
    handler.send_response(200)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    chunk = b" " * 65536
    try:
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        pass  # the check hung up, as it should


def test_64_mib_body(api):
    api.behave(_huge)
    unknown(["--url", api.url], "the answer is larger than 1024 KiB: this is not the balance endpoint's answer")


@pytest.fixture(scope="session")
def gzip_bomb():
    """512 MiB of zeros, gzip-compressed to about half a MiB."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    bomb = b"".join(squeeze.compress(zeros) for _ in range(512)) + squeeze.flush()
    assert len(bomb) < 1 << 20
    return bomb


def test_gzip_bomb(api, gzip_bomb):
    def bomb(handler):
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(gzip_bomb)))
        handler.end_headers()
        try:
            handler.wfile.write(gzip_bomb)
        except OSError:
            pass

    api.behave(bomb)
    unknown(["--url", api.url], "the answer is larger than 1024 KiB: this is not the balance endpoint's answer")


# Time

def _silent(handler):
    handler.server.closing.wait(30)


def _trickle(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    try:
        for _ in range(30):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            if handler.server.closing.wait(1):
                return
    except OSError:
        pass


def test_server_that_never_answers(api):
    api.behave(_silent)
    unknown(["--url", api.url], "no complete answer from %s within %d s (--timeout)" % (api.url, DEADLINE))


def test_server_that_trickles_one_byte_a_second(api):
    api.behave(_trickle)
    unknown(["--url", api.url], "no complete answer from %s within %d s (--timeout)" % (api.url, DEADLINE))


# Network

def test_nothing_listening():
    port = free_port()
    unknown(["--url", "http://127.0.0.1:%d/api/user/self" % port],
            "connection to 127.0.0.1:%d refused: nothing listens there" % port)


def test_name_that_does_not_resolve():
    unknown(["--url", "https://no-such-host.invalid/api/user/self"],
            "cannot resolve the host name no-such-host.invalid: check --url and DNS")


@pytest.fixture
def tls_api(tmp_path):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = ApiServer(tls=context)
    server.issuer = ca_name(ca)
    server.ca_file = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(server.ca_file))
    yield server
    server.close()


def test_untrusted_certificate(tls_api):
    unknown(["--url", tls_api.url],
            "the TLS certificate of 127.0.0.1:%d was issued by '%s', which this machine does not trust, and the "
            "server sends no intermediate certificate: either the server's chain is incomplete (its operator must "
            "send the full chain) or the CA is private (give --ca-file)" % (tls_api.port, tls_api.issuer))


def test_private_ca_file_is_trusted(tls_api):
    run = run_check("--url", tls_api.url, "--ca-file", str(tls_api.ca_file))
    assert run.code == 0
    assert tls_api.seen[0]["headers"]["Authorization"] == TOKEN


def test_unreadable_ca_file(tls_api, tmp_path):
    unknown(["--url", tls_api.url, "--ca-file", str(tmp_path / "missing.pem")],
            "cannot read the CA file %s: No such file or directory" % (tmp_path / "missing.pem"))


def test_ca_file_that_is_not_pem(tls_api, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    unknown(["--url", tls_api.url, "--ca-file", str(garbage)],
            "the CA file %s holds no usable PEM certificate" % garbage)


# Redirects and plain HTTP

@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed(api, status):
    elsewhere = ApiServer()
    try:
        api.answer(status, b"", headers={"Location": elsewhere.url + "?stolen=1"}, gzip=False)
        unknown(["--url", api.url],
                "the server redirects (HTTP %d) to %s, and redirects are not followed so the token goes nowhere "
                "else: give the final address with --url" % (status, elsewhere.url))
        assert elsewhere.seen == []
    finally:
        elsewhere.close()


@pytest.mark.parametrize("url, host", [("http://api.laozhang.ai/api/user/self", "api.laozhang.ai"),
                                       ("http://example.invalid:8080/api/user/self", "example.invalid")])
def test_plain_http_to_another_host_is_refused_before_sending(url, host):
    runs = unknown(["--url", url],
                   "refusing to send the access token in clear text to %s: use https:// (plain http is allowed "
                   "to loopback addresses only)" % host)
    # Nothing was resolved or sent: -vvv shows no request at all.
    assert "GET " not in runs[-1].stdout


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "not a url", "https:///api/user/self"])
def test_urls_that_are_not_http(url):
    unknown(["--url", url], "--url must be an https:// address of the balance endpoint")


# Tokens that cannot go into a header

@pytest.mark.parametrize("bad", ["sk-first-half\nsk-second-half", "sk-令牌-token-with-cjk", "sk-null\x00byte"],
                         ids=["newline", "non-latin-1", "nul"])
def test_token_that_cannot_be_a_header(api, tmp_path, bad):
    path = tmp_path / "token"
    path.write_text(bad)
    path.chmod(0o600)
    unknown(["--url", api.url, "--token-file", str(path)],
            "the token file %s holds a line break, a control character or a non-Latin-1 character, so it "
            "cannot be sent as an HTTP header: copy the token again" % path,
            token=None, secrets=bad.split("\n") + [bad])
    assert api.seen == []


def test_token_from_environment_that_cannot_be_a_header(api):
    bad = "sk-env-令牌-0123456789"
    unknown(["--url", api.url],
            "$LAOZHANG_ACCESS_TOKEN holds a line break, a control character or a non-Latin-1 character, so it "
            "cannot be sent as an HTTP header: copy the token again", token=bad)
    assert api.seen == []


# Token files

def test_missing_token_file(api, tmp_path):
    unknown(["--url", api.url, "--token-file", str(tmp_path / "absent")],
            "cannot read the token file %s: No such file or directory" % (tmp_path / "absent"), token=None)


def test_token_file_that_is_a_directory(api, tmp_path):
    unknown(["--url", api.url, "--token-file", str(tmp_path)],
            "cannot read the token file %s: Is a directory" % tmp_path, token=None)


def test_empty_token_file(api, tmp_path):
    path = tmp_path / "token"
    path.write_text("  \n")
    unknown(["--url", api.url, "--token-file", str(path)],
            "the token file %s is empty: put the account's system AccessToken in it" % path, token=None)
    assert api.seen == []


def _as_nobody():
    """A prefix that runs a command as 'nobody': root reads every file, so only another user sees EACCES."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        # also proves that 'nobody' can reach the installed check where this clone lives
        subprocess.run(prefix + [SCRIPT, "--version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix


def test_token_file_without_read_permission(api, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    if os.geteuid() == 0:
        prefix = _as_nobody()
        if prefix is None:
            pytest.skip("root reads every file, and 'nobody' cannot run the installed check here (no setpriv, or "
                        "the clone is in a folder closed to other users)")
        path.chmod(0o600)
    else:
        prefix = []
        path.chmod(0)
    proc = subprocess.run(prefix + [SCRIPT, "--url", api.url, "--token-file", str(path), "-vvv"],
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 3
    assert proc.stdout.splitlines()[0] == (
        "LAOZHANG_BALANCE UNKNOWN - cannot read the token file %s: Permission denied" % path)
    assert TOKEN not in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert api.seen == []


def test_world_readable_token_file_works_with_a_verbose_remark(api, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o644)
    quiet = run_check("--url", api.url, "--token-file", str(path), token=None)
    assert quiet.code == 0
    assert len(quiet.lines) == 1
    loud = run_check("--url", api.url, "--token-file", str(path), "-v", token=None)
    assert loud.code == 0
    assert ("the token file %s is open to every user on this machine (mode 0644): chmod 600 it, or 640 with "
            "the monitoring user's group" % path) in loud.lines
