"""The HTTP exchange with the balance endpoint: one GET, bounded in size, no secret in any error."""

import logging
import time
import zlib
from urllib.parse import urljoin, urlsplit

from nagiosplugin import CheckError

from . import __version__, route, trust
from .account import Reply
from .safe_text import cannot_read, one_line

# The balance answer is well under 1 KiB; anything past this is not it.
MAX_BODY = 1 << 20
_CHUNK = 16384

_log = logging.getLogger("nagiosplugin")


def public_url(url):
    """`url` without user info, query or fragment: fit for output and logs. ValueError if it is no URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    port = ":%d" % parts.port if parts.port else ""
    return one_line("%s://%s%s%s" % (parts.scheme, host, port, parts.path), 300)


def status_url(url):
    """The server's public /api/status beside its /api/user/self, for --quota-per-unit auto."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path.endswith("/user/self"):
        raise CheckError("--quota-per-unit auto needs a --url ending in /api/user/self to find /api/status, "
                         "give the ratio as --quota-per-unit N")
    return parts._replace(path=path[: -len("/user/self")] + "/status", query="", fragment="").geturl()


def check_url(url):
    """Refuse, before anything is sent, a URL that would expose the token."""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        raise CheckError("--url is not a valid address: its host or port is malformed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CheckError("--url must be an https:// address of the balance endpoint")
    if len(parts.hostname.split()) > 1:
        # urllib3 versions disagree on what a space in a host name is; it is never one.
        raise CheckError("--url is not a valid address: its host name %s is malformed" % one_line(parts.hostname, 100))
    if parts.scheme == "http" and not route.is_loopback(parts.hostname):
        raise CheckError(
            "refusing to send the access token in clear text to %s: use https:// "
            "(plain http is allowed to loopback addresses only)" % one_line(parts.hostname, 100))


def _session(requests):
    class Session(requests.Session):
        """requests' Session, minus its reading of a Location header.

        Even with allow_redirects=False requests parses the Location to
        offer the next request, and a hostile one ('http://[::1/x', port
        99999, bytes that are not UTF-8) raises out of that; redirects are
        never followed here, and the header is read raw instead.
        """

        def get_redirect_target(self, resp):
            return None

    return Session()


def get(url, headers, timeout, ca_file=None):
    """GET `url` with `headers`; the Reply, or CheckError in words.

    `timeout` bounds each connect and read; the check's overall deadline
    is nagiosplugin's alarm, since a server trickling one byte a second
    never trips a per-read timeout.
    """
    # Imported here: the paths that need no network (--help, --version,
    # --response-file) start in half the time without it.
    import requests
    import urllib3

    check_url(url)
    if ca_file:
        _check_ca_file(ca_file)
    way = route.choose(url)
    where = public_url(url)
    sent = dict(headers, **{
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "User-Agent": "check_laozhang_balance/%s" % __version__,
    })
    requested = time.time()
    started = time.monotonic()
    _log.info("GET %s", where)
    try:
        with _session(requests) as session:
            # route and trust have read the environment's proxy and CA
            # variables already; requests' second reading costs time only.
            session.trust_env = False
            # An explicit no-op auth stops requests from replacing our
            # Authorization header with credentials from ~/.netrc; explicit
            # proxies (None: none) stop it from choosing its own from the environment.
            response = session.get(url, headers=sent, timeout=(timeout, timeout), stream=True,
                                   allow_redirects=False, verify=trust.verify(url, ca_file), auth=lambda r: r,
                                   proxies=dict.fromkeys(("http", "https", "all"), way.proxy))
            with response:
                wire, body = _read_body(response)
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
        # Here, not at the top: only a failure needs its words.
        from . import network_errors

        raise CheckError(network_errors.describe(exc, url, timeout, way, ca_file)) from None
    _log.debug("HTTP %d from %s, requested %s, answered in %.3f s: %d bytes (%d on the wire, Content-Encoding %s)",
               response.status_code, where, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(requested)),
               time.monotonic() - started, len(body), wire,
               one_line(response.headers.get("Content-Encoding", "none"), 40))
    return Reply(status=response.status_code, body=body, retry_after=_header(response, "Retry-After"),
                 location=_redirect_target(url, _header(response, "Location")), route=way.note)


def _header(response, name):
    """A header's value as the server meant it: http.client reads the bytes as Latin-1, servers send UTF-8."""
    return response.headers.get(name, "").encode("latin-1", "replace").decode("utf-8", "replace")


def _redirect_target(url, location):
    """Where a Location header points, fit for output; a malformed one is only said to be so."""
    if not location:
        return ""
    try:
        return public_url(urljoin(url, location))
    except ValueError:
        return "a malformed address"


def _check_ca_file(path):
    """A CA file requests could not load would surface as a bare OSError naming the path."""
    import ssl

    try:
        ssl.create_default_context(cafile=path)
    except OSError as exc:
        if isinstance(exc, ssl.SSLError):
            raise CheckError("the CA file %s holds no usable PEM certificate" % one_line(path)) from None
        raise CheckError(cannot_read("CA file", path, exc)) from None


def _read_body(response):
    """(bytes on the wire, decoded body), decoding gzip/deflate ourselves.

    urllib3 inflates a whole chunk at once, so a small gzip bomb would
    inflate to hundreds of MiB before any size check; zlib's max_length
    keeps the decoded body within MAX_BODY whatever arrives.
    """
    import urllib3

    encoding = _header(response, "Content-Encoding").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    elif encoding in ("identity", ""):
        decoder = None
    else:
        raise CheckError("the answer uses Content-Encoding %r, which this check does not decode"
                         % one_line(encoding, 40))
    body = bytearray()
    wire = 0
    # urllib3 2 refuses a body shorter than its Content-Length by default;
    # urllib3 1.26 (Debian 12's) ends it quietly unless asked, and the cut
    # answer would then read as bad JSON instead of a broken connection.
    response.raw.enforce_content_length = True
    try:
        for chunk in response.raw.stream(_CHUNK, decode_content=False):
            wire += len(chunk)
            if decoder:
                chunk = decoder.decompress(chunk, MAX_BODY + 1 - len(body))
            body += chunk
            if len(body) > MAX_BODY or (decoder and decoder.unconsumed_tail):
                raise CheckError("the answer is larger than %d KiB: this is not the balance endpoint's answer"
                                 % (MAX_BODY // 1024))
    except zlib.error:
        raise CheckError("the answer says it is %s-compressed but is not" % encoding) from None
    except urllib3.exceptions.ReadTimeoutError:
        raise CheckError("the answer stalled after %d bytes" % wire) from None
    except urllib3.exceptions.HTTPError:
        raise CheckError("the connection broke before the whole answer arrived (%d bytes read)" % wire) from None
    if decoder and not decoder.eof:
        raise CheckError("the answer's %s stream is cut short" % encoding)
    return wire, bytes(body)
