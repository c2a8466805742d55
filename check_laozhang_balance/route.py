"""Which way the request goes: straight to the server, or through the proxy the environment names.

requests would pick a proxy from the environment by itself, for every address; the check picks
it here instead, with requests' own rules, so that it can keep loopback traffic (which may be plain
http) off any proxy, and name the proxy and its variable when something on the way fails.
"""

import ipaddress
import os
from urllib.parse import urlsplit

from nagiosplugin import CheckError

from .safe_text import one_line

class Route:
    """The proxy URL to use (None: connect directly), the variable that named it, and a note for -v."""

    # A plain class: a namedtuple costs every run more to define than the route costs to find.
    __slots__ = ("proxy", "variable", "note")

    def __init__(self, proxy, variable, note):
        self.proxy, self.variable, self.note = proxy, variable, note

# requests speaks to these proxies itself; socks needs the optional PySocks.
_SCHEMES = ("http", "https")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def choose(url):
    """The Route to `url`, or CheckError when the environment names a proxy that cannot be used."""
    from urllib.request import getproxies_environment

    import requests.utils

    parts = urlsplit(url)
    proxies = getproxies_environment()
    key = next((k for k in (parts.scheme, "all") if proxies.get(k)), None)
    if key is None:
        return Route(None, None, "directly (no proxy variable is set)")
    variable = _variable(key, proxies[key])
    if is_loopback(parts.hostname):
        # The token may travel as plain http to a loopback server; a proxy
        # would carry it across the network in clear text.
        return Route(None, None, "directly: %s is a loopback address, so the proxy in %s is not used"
                     % (parts.hostname, variable))
    if requests.utils.should_bypass_proxies(url, no_proxy=None):
        return Route(None, None, "directly: NO_PROXY names %s, so the proxy in %s is not used"
                     % (parts.hostname, variable))
    proxy = proxies[key] if "://" in proxies[key] else "http://" + proxies[key]
    return Route(proxy, variable, "through the proxy %s from %s" % (_public(proxy, variable), variable))


def _variable(key, value):
    """The environment variable that set the proxy for `key`: urllib prefers the lowercase one."""
    names = [name for name, text in os.environ.items() if name.lower() == key + "_proxy" and text == value]
    return min(names, key=lambda name: name != name.lower(), default=key.upper() + "_PROXY")


def _public(proxy, variable):
    """The proxy as 'scheme://host:port', without credentials; CheckError if it is no usable address."""
    try:
        parts = urlsplit(proxy)
        port = parts.port
    except ValueError as exc:
        raise CheckError("the proxy address in %s is not a valid URL (%s): correct %s, or add the API's host "
                         "to NO_PROXY" % (variable, _why(exc), variable)) from None
    if parts.scheme not in _SCHEMES and not (parts.scheme.startswith("socks") and _has_socks()):
        raise CheckError("the proxy in %s is a %s:// proxy, which this check cannot use: give an http:// proxy "
                         "in %s, or add the API's host to NO_PROXY" % (variable, one_line(parts.scheme, 20), variable))
    if not parts.hostname:
        raise CheckError("the proxy address in %s names no host: correct %s, or add the API's host to NO_PROXY"
                         % (variable, variable))
    host = "[%s]" % parts.hostname if ":" in parts.hostname else parts.hostname
    return one_line("%s://%s%s" % (parts.scheme, host, ":%d" % port if port else ""), 120)


def _why(exc):
    # urllib's own words, which quote nothing of the value.
    return "its port is out of range" if "port" in str(exc).lower() else "its host is malformed"


def _has_socks():
    try:
        import socks  # noqa: F401  requests' optional SOCKS support
    except ImportError:
        return False
    return True


def described(route):
    """'the proxy http://p:3128 (from HTTPS_PROXY)', for messages about a failure on the way."""
    return "the proxy %s (from %s)" % (_public(route.proxy, route.variable), route.variable)
