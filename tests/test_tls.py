"""TLS failures say what is wrong with whose certificate, and give advice that fits (issue 22, point 3).

A test CA (trustme) issues one bad leaf per case; the handshake failures come from real TLS
servers configured to fail, or from a raw socket answering a TLS alert. In every verification
failure the server must have received nothing: the second look at the certificate, for its names
and dates, sends no request and no token.
"""

import ssl
import time
import warnings

import pytest
import trustme

from conftest import run_check
from fake_api import ApiServer
from hostile_servers import RawServer
from tls_certs import ca_name, days_from_now, self_signed, server_context


def first_chunk(conn):
    return conn.recv(4096)


def unknown(url, expected, *args):
    """Exit 3 with `expected` (or, for a race the server decides, one of a tuple of lines) at every verbosity."""
    for verbosity in ([], ["-v"], ["-vvv"]):
        run = run_check("--url", url, "-t", "5", *args, *verbosity)
        assert run.code == 3, run.stdout
        choices = expected if isinstance(expected, tuple) else (expected,)
        assert run.status in ["LAOZHANG_BALANCE UNKNOWN - " + line for line in choices]
    return run.status


@pytest.fixture
def tls_server(tmp_path):
    """Start an ApiServer with a server SSLContext; also writes the CA file that trusts `ca`."""
    servers = []

    def start(context, ca=None):
        server = ApiServer(tls=context)
        server.ca_file = str(tmp_path / "ca.pem")
        if ca is not None:
            ca.cert_pem.write_to_path(server.ca_file)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _date(moment):
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def test_wrong_host_names_the_certificate_names(tls_server):
    ca = trustme.CA()
    server = tls_server(server_context(ca.issue_cert("other.example.test", "www.other.example.test")), ca)
    status = unknown(server.url, "the TLS certificate of 127.0.0.1:%d is for other.example.test, "
                                 "www.other.example.test, not for 127.0.0.1: use a name it is for in --url"
                     % server.port, "--ca-file", server.ca_file)
    assert "--ca-file" not in status
    assert server.seen == []


def test_expired_certificate_gives_its_dates(tls_server):
    ca = trustme.CA()
    start, end = days_from_now(-30), days_from_now(-2)
    server = tls_server(server_context(ca.issue_cert("127.0.0.1", not_before=start, not_after=end)), ca)
    unknown(server.url, "the TLS certificate of 127.0.0.1:%d has expired (valid from %s to %s): its operator must "
                        "renew it" % (server.port, _date(start), _date(end)), "--ca-file", server.ca_file)
    assert server.seen == []


def test_not_yet_valid_certificate_suggests_the_clock(tls_server):
    ca = trustme.CA()
    start, end = days_from_now(3), days_from_now(60)
    server = tls_server(server_context(ca.issue_cert("127.0.0.1", not_before=start, not_after=end)), ca)
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    status = unknown(server.url, "the TLS certificate of 127.0.0.1:%d is not valid yet (valid from %s to %s): check "
                                 "this machine's clock (now %s), or ask the server's operator"
                     % (server.port, _date(start), _date(end), now), "--ca-file", server.ca_file)
    assert "--ca-file" not in status
    assert server.seen == []


def test_missing_intermediate_is_told_apart_from_an_unknown_ca(tls_server):
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("127.0.0.1")
    chainless = tls_server(server_context(leaf, chain=False), root)
    unknown(chainless.url, "the TLS certificate of 127.0.0.1:%d was issued by '%s', which the CA file %s does not "
                           "hold, and the server sends no intermediate certificate: either the server's chain is "
                           "incomplete (its operator must send the full chain) or that CA file is not the issuing CA's"
            % (chainless.port, ca_name(intermediate), chainless.ca_file), "--ca-file", chainless.ca_file)
    # The same chain sent whole, to a machine that does not know its root: an unknown CA, not a broken chain.
    whole = tls_server(server_context(leaf), root)
    unknown(whole.url, "the TLS certificate of 127.0.0.1:%d comes with a chain up to a CA which this machine does not "
                       "trust: for a private CA give --ca-file" % whole.port)
    # With the root in --ca-file the whole chain is accepted: the difference was the missing intermediate.
    assert run_check("--url", whole.url, "--ca-file", whole.ca_file).code == 0
    assert chainless.seen == []


def test_unknown_ca_with_a_ca_file_does_not_suggest_ca_file(tls_server, tmp_path):
    trusted, other = trustme.CA(), trustme.CA()
    server = tls_server(server_context(other.issue_cert("127.0.0.1")), trusted)
    status = unknown(server.url, "the TLS certificate of 127.0.0.1:%d was issued by '%s', which the CA file %s does "
                                 "not hold, and the server sends no intermediate certificate: either the server's "
                                 "chain is incomplete (its operator must send the full chain) or that CA file is not "
                                 "the issuing CA's" % (server.port, ca_name(other), server.ca_file),
                     "--ca-file", server.ca_file)
    assert "give --ca-file" not in status
    assert server.seen == []


def test_self_signed_certificate(tls_server, tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed(tmp_path))
    server = tls_server(context)
    unknown(server.url, "the TLS certificate of 127.0.0.1:%d is self-signed ('CN=self-signed test server'), which "
                        "this machine does not trust: for a private CA give --ca-file" % server.port)
    assert server.seen == []


def test_plain_http_on_the_tls_port(api):
    unknown(api.url.replace("http://", "https://"),
            "the server at 127.0.0.1:%d does not speak TLS there (it answers like plain HTTP): use http:// for a plain "
            "server on this machine, or the port that serves https" % api.port)


def test_tls_1_0_only_server(tls_server):
    ca = trustme.CA()
    context = server_context(ca.issue_cert("127.0.0.1"))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    server = tls_server(context, ca)
    unknown(server.url, "the server at 127.0.0.1:%d offers only a TLS protocol version this machine refuses (TLS 1.0 "
                        "or 1.1): its operator must enable TLS 1.2 or 1.3" % server.port, "--ca-file", server.ca_file)


EOF = ("the server at 127.0.0.1:%d closed the connection during the TLS handshake (unexpected EOF): it may not be a "
       "TLS server, or may demand a client certificate, which this check does not send")


def test_server_that_closes_after_client_hello():
    server = RawServer(None, read=first_chunk)
    try:
        unknown(server.url("https"), EOF % server.port)
    finally:
        server.close()


# A fatal TLS alert record: content type 21, TLS 1.2, two bytes of level and description.
def _alert(description):
    return bytes([21, 3, 3, 0, 2, 2, description])


@pytest.mark.parametrize("description, expected", [
    (40, "the server at 127.0.0.1:{port} refused the TLS handshake (alert 'handshake failure'): it shares no cipher "
         "with this machine, or demands a client certificate, which this check does not send"),
    (116, "the server at 127.0.0.1:{port} demands a client certificate, which this check does not send"),
    (70, "the server at 127.0.0.1:{port} offers only a TLS protocol version this machine refuses (TLS 1.0 or 1.1): "
         "its operator must enable TLS 1.2 or 1.3"),
    (80, "the server at 127.0.0.1:{port} ended the TLS handshake with the alert 'internal error'"),
], ids=["handshake-failure", "certificate-required", "protocol-version", "internal-error"])
def test_tls_alert(description, expected):
    server = RawServer(_alert(description), read=first_chunk)
    try:
        unknown(server.url("https"), expected.format(port=server.port))
    finally:
        server.close()


@pytest.mark.parametrize("version, expected", [
    (ssl.TLSVersion.TLSv1_2, "the server at 127.0.0.1:%d refused the TLS handshake (alert 'handshake failure'): it "
                             "shares no cipher with this machine, or demands a client certificate, which this check "
                             "does not send"),
    # The alert comes after the client's side of the handshake is done: whether
    # it is read before the server's hang-up is a race.
    (ssl.TLSVersion.TLSv1_3, (EOF, "the server at 127.0.0.1:%d demands a client certificate, which this check does "
                                   "not send")),
], ids=["tls-1.2", "tls-1.3"])
def test_server_demanding_a_client_certificate(tls_server, version, expected):
    ca = trustme.CA()
    context = server_context(ca.issue_cert("127.0.0.1"), maximum_version=version, verify_mode=ssl.CERT_REQUIRED)
    ca.configure_trust(context)
    server = tls_server(context, ca)
    lines = expected if isinstance(expected, tuple) else (expected,)
    unknown(server.url, tuple(line % server.port for line in lines), "--ca-file", server.ca_file)
    assert server.seen == []
