"""A server that breaks HTTP on purpose: hostile Location headers, conflicting lengths, a 304, duplicate keys.

Each is one clear UNKNOWN line in words (issue 19 point 5, issue 22 point 4), never a Python
exception's name (run_check fails any run that prints one), at every verbosity.
"""

import json

import pytest

from conftest import run_check
from hostile_servers import RawServer, http

VERBOSITIES = ([], ["-v"], ["-vvv"])


@pytest.fixture
def raw():
    servers = []

    def start(reply):
        servers.append(RawServer(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def unknown(url, expected, *args):
    for verbosity in VERBOSITIES:
        run = run_check("--url", url, "-t", "5", *args, *verbosity)
        assert run.code == 3, run.stdout
        assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected


def body(document):
    """A JSON body written as given: json.dumps cannot write the same key twice."""
    return document.encode() if isinstance(document, str) else json.dumps(document).encode()


def answer(status_line, content, headers=()):
    return http(status_line, [("Content-Type", "application/json"), ("Content-Length", str(len(content))),
                              *headers], content)


REDIRECTED = ("the server redirects (HTTP 302) to %s, and redirects are not followed so the token goes nowhere else: "
              "give the final address with --url")


@pytest.mark.parametrize("location, shown", [
    ("http://127.0.0.1:99999/x", "a malformed address"),
    ("http://[::1/x", "a malformed address"),
    (b"http://example.invalid/\xff\xfe/x", "http://example.invalid/\ufffd\ufffd/x"),
    ("https://example.invalid/api?token=secret#x", "https://example.invalid/api"),
    ("/elsewhere|x=1", "http://127.0.0.1:{port}/elsewhere x=1"),
    ("http://example.invalid/\x1b[31m\u202eevil", "http://example.invalid/ [31m evil"),
], ids=["port-99999", "ipv6-unclosed", "not-utf-8", "query-dropped", "relative-with-pipe", "escape-and-bidi"])
def test_hostile_location_headers(raw, location, shown):
    server = raw(answer("302 Found", b"", [("Location", location)]))
    unknown(server.url(), REDIRECTED % shown.format(port=server.port))


def test_location_that_names_the_token_is_redacted(raw):
    from conftest import TOKEN

    server = raw(answer("302 Found", b"", [("Location", "https://example.invalid/" + "x" * 150 + TOKEN)]))
    run = run_check("--url", server.url(), "-t", "5")
    assert run.code == 3
    assert run.status.startswith("LAOZHANG_BALANCE UNKNOWN - the server redirects (HTTP 302) to https://example.")


def test_not_modified_is_not_a_redirect(raw):
    server = raw(http("304 Not Modified", [("Content-Length", "0")]))
    unknown(server.url(), "the server answered HTTP 304 Not Modified to a request that asked for no cached copy: "
                          "a cache or proxy in front of the API, or the API itself, is misbehaving: ask its operator")


def test_redirect_without_a_location(raw):
    server = raw(answer("303 See Other", b""))
    unknown(server.url(), "the server answers HTTP 303 See Other without saying where to go: is --url the API "
                          "endpoint?")


@pytest.mark.parametrize("lengths", [("5", "7"), ("5, 7",)], ids=["two-headers", "one-list"])
def test_conflicting_content_lengths(raw, lengths):
    server = raw(http("200 OK", [("Content-Length", n) for n in lengths], b'{"a":1}'))
    unknown(server.url(), "the server at 127.0.0.1:%d sent several Content-Length headers that disagree, so the "
                          "answer's length is unknown: a fault of the server or of a proxy in front of it, ask its "
                          "operator" % server.port)


@pytest.mark.parametrize("document, field", [
    ('{"success":true,"data":{"quota":999999999,"quota":5,"used_quota":1,"request_count":1}}', "'data.quota'"),
    ('{"success":false,"success":true,"data":{"quota":5,"used_quota":1,"request_count":1}}', "'success'"),
    ('{"success":true,"data":{"quota":5,"used_quota":1,"request_count":1},"data":{"quota":9,"used_quota":1,'
     '"request_count":1}}', "'data'"),
    ('{"success":true,"data":{"quota":5,"used_quota":1,"used_quota":2,"request_count":1,"request_count":3}}',
     "'data.request_count' and 'data.used_quota'"),
    ('{"success":true,"data":{"quota":5,"used_quota":1,"request_count":1,"username":"a","username":"b"}}',
     "'data.username'"),
], ids=["quota", "success", "data", "two-counters", "username"])
def test_duplicate_fields_the_check_reads(raw, document, field):
    server = raw(answer("200 OK", body(document)))
    unknown(server.url(), "the answer holds %s twice with different values, so parsers differ on which counts: ask "
                          "the server's operator" % field)


def test_harmless_duplicates_are_read(raw):
    document = ('{"success":true,"success":true,"data":{"quota":5000000,"quota":5000000,"used_quota":1,'
                '"request_count":1,"extra":1,"extra":2}}')
    server = raw(answer("200 OK", body(document)))
    run = run_check("--url", server.url())
    assert run.status == "LAOZHANG_BALANCE OK - 10.00 USD left"


def test_every_copy_of_an_echoed_access_token_is_hidden(raw):
    document = ('{"success":false,"message":"refused: first-copy-1234 second-copy-5678","data":'
                '{"access_token":"first-copy-1234","access_token":"second-copy-5678"}}')
    server = raw(answer("200 OK", body(document)))
    run = run_check("--url", server.url(), "-vvv", secrets=("first-copy-1234", "second-copy-5678"))
    assert run.status.startswith("LAOZHANG_BALANCE UNKNOWN - authentication refused (HTTP 200, API says "
                                 "'refused: *** ***')")


def test_duplicate_ratio_in_api_status(raw):
    def reply(head):
        if b"/api/status" in head.split(b"\r\n")[0]:
            return answer("200 OK", body('{"success":true,"data":{"quota_per_unit":500000,"quota_per_unit":5}}'))
        return answer("200 OK", body({"success": True, "data": {"quota": 5, "used_quota": 1, "request_count": 1}}))

    server = raw(reply)
    unknown(server.url(), "--quota-per-unit auto: in the server's /api/status, the answer holds "
                          "'data.quota_per_unit' twice with different values, so parsers differ on which counts: ask "
                          "the server's operator, give the ratio as --quota-per-unit N", "--quota-per-unit", "auto")


def test_proxy_authentication_required_from_the_server_side(raw):
    server = raw(answer("407 Proxy Authentication Required", b""))
    unknown(server.url(), "a proxy between this check and the API wants credentials (HTTP 407 Proxy Authentication "
                          "Required): give them in the proxy variable as http://user:password@host:port, or add the "
                          "API's host to NO_PROXY")


@pytest.mark.parametrize("raw, expected", [
    (http("200 OK", [("X-%d" % i, "v") for i in range(200)] + [("Content-Length", "2")], b"{}"),
     "connection to 127.0.0.1:{port} failed: the server hung up or broke the HTTP protocol"),
    (http("200 OK", [("X", "v" * 70000), ("Content-Length", "2")], b"{}"),
     "connection to 127.0.0.1:{port} failed: the server hung up or broke the HTTP protocol"),
    (b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\n{}",
     "connection to 127.0.0.1:{port} failed: the server hung up or broke the HTTP protocol"),
    (b"\x00\xff\x1b[2J\r\n\r\n", "connection to 127.0.0.1:{port} failed: the server hung up or broke the HTTP protocol"),
    (http("200 OK", [("Transfer-Encoding", "chunked")], b"zz\r\n{}\r\n0\r\n\r\n"),
     "the connection broke before the whole answer arrived (0 bytes read)"),
    (http("999 Weird", [("Content-Length", "2")], b"{}"),
     "the API is failing (HTTP 999), a fault on the server's side: wait, or ask its operator"),
    (http("429 Too Many", [("Retry-After", "\u202e5\x1b"), ("Content-Length", "0")]),
     "rate limited by the API (HTTP 429 Too Many Requests, retry after 5 s): check less often"),
    (http("200 OK", [("Content-Encoding", "br\u202e|x"), ("Content-Length", "2")], b"{}"),
     "the answer uses Content-Encoding 'br x', which this check does not decode"),
], ids=["200-headers", "70-kb-header", "bad-status-line", "garbage", "bad-chunk", "status-999", "retry-after-bidi",
        "encoding-bidi"])
def test_broken_http_is_one_line_in_words(raw, expected):
    server = RawServer(raw)
    try:
        unknown(server.url(), expected.format(port=server.port))
    finally:
        server.close()


@pytest.mark.parametrize("data, field", [
    ('"total_available":99000000,"total_available":5', "'data.total_available'"),
    ('"total_available":5,"unlimited_quota":false,"unlimited_quota":true', "'data.unlimited_quota'"),
], ids=["available", "unlimited"])
def test_duplicate_fields_in_key_mode(raw, data, field):
    from key_servers import KEY

    document = ('{"code":true,"message":"ok","data":{"object":"token_usage","name":"k","total_used":1,%s,'
                '"expires_at":0}}' % data)
    server = raw(answer("200 OK", body(document)))
    run = run_check("--url", server.url(), "-t", "5", token=None, env={"LAOZHANG_API_KEY": KEY}, secrets=(KEY,))
    assert run.code == 3, run.stdout
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - the answer holds %s twice with different values, so parsers "
                          "differ on which counts: ask the server's operator" % field)
