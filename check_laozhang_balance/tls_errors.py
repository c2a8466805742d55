"""A failed TLS connection in words: whose certificate, for which names, valid when, and what to do.

OpenSSL's verification error says what failed, not the certificate's names or dates; for those
the check takes a second look at the certificate in a handshake that verifies nothing and sends
nothing, so the token still never goes to a server that failed verification.
"""

import time

from .safe_text import one_line

# OpenSSL's X509_V_ERR_* codes the advice depends on.
_NOT_YET_VALID, _EXPIRED = 9, 10
_SELF_SIGNED, _SELF_SIGNED_IN_CHAIN, _NO_LOCAL_ISSUER, _NO_ISSUER = 18, 19, 20, 2
_WRONG_NAME = (62, 64)

# OpenSSL's reasons for handshakes that end before any certificate is judged.
_HANDSHAKE = (
    (("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"),
     "the server at {address} does not speak TLS there (it answers like plain HTTP): use http:// for a "
     "plain server on this machine, or the port that serves https"),
    # urllib3 1.26 lets OpenSSL try TLS 1.0, whose signatures OpenSSL 3 then refuses: "legacy sigalg".
    (("UNSUPPORTED_PROTOCOL", "PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW", "legacy sigalg"),
     "the server at {address} offers only a TLS protocol version this machine refuses (TLS 1.0 or 1.1): its "
     "operator must enable TLS 1.2 or 1.3"),
    (("CERTIFICATE_REQUIRED",),
     "the server at {address} demands a client certificate, which this check does not send"),
    (("ALERT_HANDSHAKE_FAILURE",),
     "the server at {address} refused the TLS handshake (alert 'handshake failure'): it shares no cipher with "
     "this machine, or demands a client certificate, which this check does not send"),
    # A TLS 1.3 server that wants a client certificate hangs up after the
    # handshake, which looks the same from this side.
    (("UNEXPECTED_EOF", "EOF_WHILE_READING", "EOF occurred", "closed (EOF)"),
     "the server at {address} closed the connection during the TLS handshake (unexpected EOF): it may not "
     "be a TLS server, or may demand a client certificate, which this check does not send"),
)


def describe(chain, parts, ca_file, timeout, direct=True):
    """The sentence for an SSL failure among the exceptions in `chain`."""
    import ssl

    address = "%s:%d" % (one_line(parts.hostname, 100), parts.port or 443)
    verify = next((c for c in chain if isinstance(c, ssl.SSLCertVerificationError)), None)
    # urllib3 1.26 matches IP addresses itself and raises its own CertificateError.
    mismatch = any(type(c).__name__ == "CertificateError" for c in chain)
    if verify is None and not mismatch:
        return _handshake(chain, address)
    code = _WRONG_NAME[0] if verify is None else verify.verify_code
    leaf, sent = _second_look(parts.hostname, parts.port or 443, timeout) if direct else (None, 0)
    whose = "the TLS certificate of %s" % address
    if code in _WRONG_NAME:
        names = _names(leaf)
        asked = one_line(parts.hostname, 100)
        return ("%s is for %s, not for %s: use a name it is for in --url" % (whose, names, asked)
                if names else "%s is not for the name %s: use a name it is for in --url" % (whose, asked))
    if code == _EXPIRED:
        return "%s has expired%s: its operator must renew it" % (whose, _validity(leaf))
    if code == _NOT_YET_VALID:
        return ("%s is not valid yet%s: check this machine's clock (now %s), or ask the server's operator"
                % (whose, _validity(leaf), _date(time.time())))
    untrusted = ("which the CA file %s does not hold" % one_line(ca_file) if ca_file
                 else "which this machine does not trust")
    advice = "" if ca_file else ": for a private CA give --ca-file"
    if code == _SELF_SIGNED:
        return "%s is self-signed (%s), %s%s" % (whose, _subject(leaf, "subject"), untrusted, advice)
    if code in (_NO_LOCAL_ISSUER, _NO_ISSUER) and sent == 1:
        # Only the leaf came: its issuer may be a public CA's intermediate the server should have sent.
        return ("%s was issued by %s, %s, and the server sends no intermediate certificate: either the server's "
                "chain is incomplete (its operator must send the full chain) or %s"
                % (whose, _subject(leaf, "issuer"), untrusted,
                   "that CA file is not the issuing CA's" if ca_file else "the CA is private (give --ca-file)"))
    if code in (_NO_LOCAL_ISSUER, _NO_ISSUER, _SELF_SIGNED_IN_CHAIN):
        return "%s comes with a chain up to a CA %s%s" % (whose, untrusted, advice)
    return "%s is not accepted (%s)" % (whose, one_line(verify.verify_message or "verification failed", 80))


def _handshake(chain, address):
    import ssl

    failures = [c for c in chain if isinstance(c, ssl.SSLError)]
    reasons = [c.reason for c in failures if isinstance(c.reason, str)]
    words = " ".join(reasons + [str(c) for c in failures])
    for needles, sentence in _HANDSHAKE:
        if any(needle in words for needle in needles):
            return sentence.format(address=address)
    alert = next((reason for reason in reasons if "ALERT_" in reason), "")
    if alert:
        said = alert.split("ALERT_", 1)[1].replace("_", " ").lower()
        return "the server at %s ended the TLS handshake with the alert '%s'" % (address, one_line(said, 60))
    if reasons:
        return "the TLS handshake with %s failed (%s)" % (address, one_line(reasons[0].replace("_", " ").lower(), 60))
    return "the TLS handshake with %s failed" % address


def _second_look(host, port, timeout):
    """(the leaf's decoded fields, number of certificates sent) from a handshake that verifies nothing.

    (None, 0) where that fails or the interpreter cannot show an unverified
    chain (its _ssl has get_unverified_chain from Python 3.10 on).
    """
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5)) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                chain = tls._sslobj.get_unverified_chain() or []
                return (chain[0].get_info(), len(chain)) if chain else (None, 0)
    except (OSError, AttributeError, ValueError):
        return None, 0


def _names(leaf):
    if not leaf:
        return ""
    names = [value for kind, value in leaf.get("subjectAltName", ()) if kind in ("DNS", "IP Address")]
    if not names:
        names = [value for rdn in leaf.get("subject", ()) for key, value in rdn if key == "commonName"]
    shown = ", ".join(one_line(name, 60) for name in names[:5])
    return shown + (" and %d more" % (len(names) - 5) if len(names) > 5 else "")


def _subject(leaf, field):
    """'CN=Example CA, O=Example' of the leaf's subject or issuer, or 'an unknown CA' without a second look."""
    if not leaf:
        return "a CA" if field == "issuer" else "name unknown"
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C"}
    parts = ["%s=%s" % (short[key], value) for rdn in leaf.get(field, ()) for key, value in rdn if key in short]
    return "'%s'" % one_line(", ".join(parts) or "no name", 120)


def _validity(leaf):
    import ssl

    try:
        return " (valid from %s to %s)" % (_date(ssl.cert_time_to_seconds(leaf["notBefore"])),
                                           _date(ssl.cert_time_to_seconds(leaf["notAfter"])))
    except (TypeError, KeyError, ValueError, OverflowError):
        return ""


def _date(seconds):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
