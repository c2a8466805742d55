"""Making text from a server or a user fit for one line of plugin output, and keeping secrets out of it."""

import re

# Printable ASCII but '|' passes as is; every other run of characters is
# looked at one by one.
_NOT_PLAIN = r"[^\x20-\x7b\x7d\x7e]+"
# Controls (C0, DEL, C1), format characters (bidi overrides and isolates,
# zero-width joiners, soft hyphen) and lone surrogates, which JSON can
# express but no encoder writes.
_HIDDEN = frozenset(("Cc", "Cf", "Cs"))

# What must never be shown, in every form a cleaning could give it.
_secrets = []


def keep_secret(value):
    """Never let `value` (as given, and as one_line would clean it) out of one_line or redact.

    A token prefixed 'Bearer ' is hidden without the prefix as well: a
    server may quote only the part after it.
    """
    if not isinstance(value, str):
        return
    forms = [value, value[len("Bearer "):] if value.startswith("Bearer ") else ""]
    forms += [_clean(form) for form in forms]
    for form in forms:
        if form and form not in _secrets:
            _secrets.append(form)
    # Longest first: a shorter form inside a longer one must not leave the rest behind.
    _secrets.sort(key=len, reverse=True)


def redact(text):
    """`text` with every secret given to keep_secret replaced by '***'."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def _printable(match):
    # Here, not at the top: most runs meet printable ASCII only.
    import unicodedata

    return "".join(" " if char == "|" or unicodedata.category(char) in _HIDDEN else char for char in match.group())


def _clean(text):
    # Plain text skips the pattern, which most runs then never compile.
    if not (text.isascii() and text.isprintable() and "|" not in text):
        text = re.sub(_NOT_PLAIN, _printable, text)
    return " ".join(text.split())


def one_line(text, limit=200):
    """`text` without secrets, line breaks, control or format characters or the perfdata separator '|'.

    Whatever a server says ends up in a notification, in Nagios' status
    line and in JSON and Prometheus documents, which a stray newline, '|'
    or bidi override would cut, corrupt or reorder. The order matters:
    secrets are replaced in the raw text and again once it is cleaned
    (cleaning can turn other text into a secret's cleaned form), and only
    then is the text cut, so no cut leaves a piece of a secret behind.
    """
    flat = redact(_clean(redact(str(text))))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def quoted(text, limit=40):
    """A user's argument echoed in an error: cleaned, cut and in quotes.

    ';' becomes ':' as Nagios would turn it in its log anyway.
    """
    return "'%s'" % one_line(text, limit).replace(";", ":")


def cannot_read(what, path, exc):
    """'cannot read the token file /x: Permission denied', from an OSError.

    The reason is the errno's words only: str(exc) may quote more than the path.
    """
    return "cannot read the %s %s: %s" % (what, one_line(path), exc.strerror or "unreadable")
