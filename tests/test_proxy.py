"""Proxies: loopback traffic never goes through one, and every failure on the way through one says so.

Issue 22, point 1 (the token crossing a proxy in clear) and the proxy part of point 2. The API's
stand-in is reached through a name that is not loopback (api.example.test), which only the test
proxy resolves, so the proxy is really on the way.
"""

import pytest
import trustme

from conftest import TOKEN, free_port, run_check
from fake_api import ApiServer
from hostile_servers import RawServer, TunnelProxy, http
from tls_certs import server_context

PROXY_VARIABLES = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
REMOTE = "api.example.test"
# The proxy's password, which no output may show.
PASSWORD = "hunter2-proxy-password"


@pytest.fixture
def logging_proxy():
    """A proxy that records whatever reaches it and answers 502: a test passes only if nothing reaches it."""
    proxy = RawServer(http("502 Bad Gateway", [("Content-Length", "0")]))
    yield proxy
    proxy.close()


def unknown(args, env, expected):
    for verbosity in ([], ["-v"], ["-vvv"]):
        run = run_check(*args, "-t", "5", *verbosity, env=env, secrets=(PASSWORD,))
        assert run.code == 3, run.stdout
        assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected
    return run


@pytest.mark.parametrize("variable", PROXY_VARIABLES)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_goes_straight_past_the_proxy(api, logging_proxy, variable, host):
    run = run_check("--url", api.url.replace("127.0.0.1", host), "-v",
                    env={variable: "http://user:%s@127.0.0.1:%d" % (PASSWORD, logging_proxy.port)},
                    secrets=(PASSWORD,))
    assert run.code == 0, run.stdout
    assert logging_proxy.received == []
    assert api.seen[0]["headers"]["Authorization"] == TOKEN
    assert ("connected directly: %s is a loopback address, so the proxy in %s is not used" % (host, variable)
            in run.lines)


def test_loopback_https_goes_straight_past_the_proxy(logging_proxy, tmp_path):
    ca = trustme.CA()
    api = ApiServer(tls=server_context(ca.issue_cert("127.0.0.1")))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    try:
        run = run_check("--url", api.url, "--ca-file", str(tmp_path / "ca.pem"),
                        env={"HTTPS_PROXY": "http://127.0.0.1:%d" % logging_proxy.port})
        assert run.code == 0, run.stdout
        assert logging_proxy.received == []
    finally:
        api.close()


@pytest.mark.parametrize("variable", PROXY_VARIABLES)
def test_plain_http_elsewhere_stays_refused_with_a_proxy(logging_proxy, variable):
    unknown(["--url", "http://%s/api/user/self" % REMOTE], {variable: "http://127.0.0.1:%d" % logging_proxy.port},
            "refusing to send the access token in clear text to %s: use https:// (plain http is allowed to "
            "loopback addresses only)" % REMOTE)
    assert logging_proxy.received == []


@pytest.fixture
def remote_api(tmp_path):
    """The API's stand-in with a certificate for api.example.test, and the CA file that trusts it."""
    ca = trustme.CA()
    api = ApiServer(tls=server_context(ca.issue_cert(REMOTE)))
    api.remote_url = "https://%s:%d/api/user/self" % (REMOTE, api.port)
    api.ca_file = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(api.ca_file)
    yield api
    api.close()


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_verbose_says_which_proxy_a_run_used(remote_api, variable):
    proxy = TunnelProxy()
    try:
        run = run_check("--url", remote_api.remote_url, "--ca-file", remote_api.ca_file, "-v",
                        env={variable: "http://user:%s@127.0.0.1:%d" % (PASSWORD, proxy.port)}, secrets=(PASSWORD,))
        assert run.code == 0, run.stdout
        assert "connected through the proxy http://127.0.0.1:%d from %s" % (proxy.port, variable) in run.lines
        assert proxy.received[0].startswith(b"CONNECT %s:%d " % (REMOTE.encode(), remote_api.port))
        assert remote_api.seen[0]["headers"]["Authorization"] == TOKEN
    finally:
        proxy.close()


def test_verbose_says_when_no_proxy_is_set(api):
    run = run_check("--url", api.url, "-v")
    assert "connected directly (no proxy variable is set)" in run.lines


def test_lowercase_variable_wins_as_in_urllib(remote_api):
    port = free_port()
    unknown(["--url", remote_api.remote_url],
            {"HTTPS_PROXY": "http://127.0.0.1:1", "https_proxy": "http://127.0.0.1:%d" % port},
            "connection to the proxy http://127.0.0.1:%d (from https_proxy) refused: nothing listens there, check the "
            "proxy, or add the API's host to NO_PROXY to bypass it" % port)


def test_dead_proxy(remote_api):
    port = free_port()
    unknown(["--url", remote_api.remote_url], {"HTTPS_PROXY": "http://user:%s@127.0.0.1:%d" % (PASSWORD, port)},
            "connection to the proxy http://127.0.0.1:%d (from HTTPS_PROXY) refused: nothing listens there, check the "
            "proxy, or add the API's host to NO_PROXY to bypass it" % port)


def test_unresolvable_proxy(remote_api):
    unknown(["--url", remote_api.remote_url], {"ALL_PROXY": "http://no-such-proxy.invalid:3128"},
            "cannot resolve the host name of the proxy http://no-such-proxy.invalid:3128 (from ALL_PROXY): check the "
            "proxy, or add the API's host to NO_PROXY to bypass it")


@pytest.mark.parametrize("status, expected", [
    ("407 Proxy Authentication Required",
     "the proxy http://127.0.0.1:{port} (from HTTPS_PROXY) wants credentials (HTTP 407 to CONNECT "
     "api.example.test:{api}): give them in HTTPS_PROXY as http://user:password@host:port"),
    ("502 Bad Gateway",
     "the proxy http://127.0.0.1:{port} (from HTTPS_PROXY) refused to connect to api.example.test:{api} (HTTP 502 "
     "Bad Gateway): check the proxy, or add the API's host to NO_PROXY to bypass it"),
    ("403 Forbidden",
     "the proxy http://127.0.0.1:{port} (from HTTPS_PROXY) refused to connect to api.example.test:{api} (HTTP 403 "
     "Forbidden): check the proxy, or add the API's host to NO_PROXY to bypass it"),
], ids=["407", "502", "403"])
def test_proxy_refusing_connect(remote_api, status, expected):
    proxy = RawServer(http(status, [("Proxy-Authenticate", "Basic realm=x"), ("Content-Length", "0")]))
    try:
        unknown(["--url", remote_api.remote_url],
                {"HTTPS_PROXY": "http://user:%s@127.0.0.1:%d" % (PASSWORD, proxy.port)},
                expected.format(port=proxy.port, api=remote_api.port))
        assert all(head.startswith(b"CONNECT ") for head in proxy.received)
        assert not any(TOKEN.encode() in head for head in proxy.received)
    finally:
        proxy.close()


@pytest.mark.parametrize("variable, value, expected", [
    ("HTTPS_PROXY", "http://user:%s@127.0.0.1:99999" % PASSWORD,
     "the proxy address in HTTPS_PROXY is not a valid URL (its port is out of range): correct HTTPS_PROXY, or add "
     "the API's host to NO_PROXY"),
    ("https_proxy", "http://[::1", "the proxy address in https_proxy is not a valid URL (its host is malformed): "
                                   "correct https_proxy, or add the API's host to NO_PROXY"),
    ("ALL_PROXY", "socks5h://user:%s@127.0.0.1:1080" % PASSWORD,
     "the proxy in ALL_PROXY is a socks5h:// proxy, which this check cannot use: give an http:// proxy in ALL_PROXY, "
     "or add the API's host to NO_PROXY"),
    ("HTTPS_PROXY", "http://:3128", "the proxy address in HTTPS_PROXY names no host: correct HTTPS_PROXY, or add the "
                                    "API's host to NO_PROXY"),
], ids=["port-99999", "ipv6-unclosed", "socks5h", "no-host"])
def test_malformed_proxy_address(remote_api, variable, value, expected):
    unknown(["--url", remote_api.remote_url], {variable: value}, expected)


def test_no_proxy_is_honoured(remote_api, logging_proxy):
    unknown(["--url", remote_api.remote_url],
            {"HTTPS_PROXY": "http://127.0.0.1:%d" % logging_proxy.port, "NO_PROXY": ".example.test"},
            "cannot resolve the host name api.example.test: check --url and DNS")
    assert logging_proxy.received == []
