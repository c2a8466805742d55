"""What went wrong on the way to the server, in an administrator's words.

Never the exceptions' own text or class names: they carry URLs and headers, and mean nothing to
whoever reads the alert. requests and urllib3 1.26 and 2.x nest the same failure differently, so
every decision looks at the whole chain of causes.
"""

import re
from urllib.parse import urlsplit

from . import route, tls_errors
from .account import status_words
from .safe_text import one_line


def causes(exc):
    """`exc` and the exceptions it wraps, however requests and urllib3 nest them."""
    seen = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(current.args)
    return seen


def _named(chain, *names):
    """Whether an exception of one of these class names is in the chain (urllib3 moves them between versions)."""
    return any(type(c).__name__ in names for c in chain)


def describe(exc, url, timeout, way, ca_file):
    """The sentence for a failed request to `url` that went the Route `way`."""
    import socket
    import ssl

    import requests

    parts = urlsplit(url)
    host = one_line(parts.hostname, 100)
    address = "%s:%d" % (host, parts.port if parts.port is not None else 443 if parts.scheme == "https" else 80)
    chain = causes(exc)
    if way.proxy:
        problem = _proxy_problem(exc, chain, way, address, timeout)
        if problem:
            return problem
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(c, ssl.SSLError) for c in chain):
        return tls_errors.describe(chain, parts, ca_file, timeout, direct=not way.proxy)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no connection to %s within %d s" % (address, timeout)
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer from %s within %d s" % (address, timeout)
    if any(isinstance(c, socket.gaierror) for c in chain) or _named(chain, "NameResolutionError"):
        return "cannot resolve the host name %s: check --url and DNS" % host
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return "connection to %s refused: nothing listens there" % address
    if _named(chain, "InvalidHeader") and any("content-length" in str(c).lower() for c in chain):
        return ("the server at %s sent several Content-Length headers that disagree, so the answer's length is "
                "unknown: a fault of the server or of a proxy in front of it, ask its operator" % address)
    if isinstance(exc, requests.exceptions.ConnectionError) or _named(chain, "ProtocolError", "RemoteDisconnected"):
        return "connection to %s failed: the server hung up or broke the HTTP protocol" % address
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.URLRequired,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)) or _named(
                            chain, "LocationParseError"):
        return "--url is not a valid address: its host name %s is malformed" % host
    return "the request to %s failed for a reason this check cannot name" % address


_TUNNEL = re.compile(r"Tunnel connection failed: (\d{3})")


def _proxy_problem(exc, chain, way, address, timeout):
    """The sentence for a failure on the way through the proxy, or None if the proxy got the request through."""
    import socket

    import requests

    proxy = route.described(way)
    fix = "check the proxy, or add the API's host to NO_PROXY to bypass it"
    status = next((int(m.group(1)) for m in (_TUNNEL.search(str(c)) for c in chain) if m), None)
    if status == 407:
        return ("%s wants credentials (HTTP 407 to CONNECT %s): give them in %s as http://user:password@host:port"
                % (proxy, address, way.variable))
    if status is not None:
        return "%s refused to connect to %s (%s): %s" % (proxy, address, status_words(status), fix)
    through = isinstance(exc, requests.exceptions.ProxyError) or _named(chain, "ProxyError")
    if not through and not isinstance(exc, requests.exceptions.ConnectTimeout):
        # Connected through the tunnel: what failed is the server's part.
        return None
    if any(isinstance(c, socket.gaierror) for c in chain) or _named(chain, "NameResolutionError"):
        return "cannot resolve the host name of %s: %s" % (proxy, fix)
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return "connection to %s refused: nothing listens there, %s" % (proxy, fix)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no connection through %s to %s within %d s: %s" % (proxy, address, timeout, fix)
    return "%s failed to connect to %s: %s" % (proxy, address, fix)
