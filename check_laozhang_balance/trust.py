"""Which CA certificates verify the server: --ca-file, the variables an administrator sets, else the system's."""

import functools
import os

from nagiosplugin import CheckError

from .safe_text import cannot_read, one_line

# The first one set wins: requests' own variables, then OpenSSL's, as
# curl and the Python ssl module read them.
VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def verify(url, ca_file):
    """requests' verify= for `url`: a path (verification is never off), or True where TLS is not used."""
    return store(ca_file)[0] if _tls(url) else True


def notes(url, ca_file):
    """The -v line that says which CA store this run trusts, if it uses TLS."""
    return ["TLS: the server's certificate is verified against %s" % store(ca_file)[1]] if _tls(url) else []


def _tls(url):
    return url[:6].lower() == "https:"


@functools.lru_cache(maxsize=None)
def store(ca_file):
    """(path, how -v names it) of the CA store this run trusts; CheckError when a variable names one not there.

    The system's hashed directory (OpenSSL's capath, Debian's /etc/ssl/certs,
    kept by update-ca-certificates) is read lazily, one certificate per
    issuer; a bundle file is parsed whole on every run, certifi's 150
    certificates costing more than the rest of the check.
    """
    if ca_file:
        return (ca_file, "--ca-file %s" % one_line(ca_file))
    for name in VARIABLES:
        value = os.environ.get(name, "")
        if value:
            path = _usable(name, value)
            return (path, "$%s (%s)" % (name, one_line(path)))
    import ssl

    # Where this OpenSSL was built to look (Debian: /usr/lib/ssl/certs, a link to /etc/ssl/certs).
    system = ssl.get_default_verify_paths()
    if _hashed(system.openssl_capath):
        path = os.path.realpath(system.openssl_capath)
        return (path, "the system's CA directory %s" % path)
    if os.path.isfile(system.openssl_cafile):
        path = os.path.realpath(system.openssl_cafile)
        return (path, "the system's CA bundle %s" % path)
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    return (DEFAULT_CA_BUNDLE_PATH, "requests' CA bundle %s (this system has no CA store of its own)"
                 % DEFAULT_CA_BUNDLE_PATH)


def _usable(name, value):
    """The path `name` sets, or CheckError saying what is wrong with it and what to do."""
    # OpenSSL reads SSL_CERT_DIR as a list; requests takes one directory.
    path = next((p for p in value.split(os.pathsep) if os.path.isdir(p)), value) if name == "SSL_CERT_DIR" else value
    fix = "point it at a CA bundle (PEM) or a hashed CA directory, or unset it to use the system's CAs"
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
    except FileNotFoundError:
        raise CheckError("$%s names %s, which does not exist: %s" % (name, one_line(value), fix)) from None
    except OSError as exc:
        raise CheckError("%s (set by $%s): %s" % (cannot_read("CA store", path, exc), name, fix)) from None
    return path


def _hashed(directory):
    """Whether `directory` holds OpenSSL's subject-hash links (12345678.0), without which capath finds nothing."""
    try:
        with os.scandir(directory) as entries:
            return any(len(e.name) == 10 and e.name[8] == "." and e.name[9].isdigit() for e in entries)
    except (OSError, TypeError):
        return False
