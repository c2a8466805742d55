"""Making text from a server or a user fit for one line of plugin output."""

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f|]+")


def one_line(text, limit=200):
    """`text` without line breaks, control characters or the perfdata separator '|'.

    Whatever a server says ends up in a notification and in Nagios'
    status line, which a stray newline or '|' would cut or corrupt.
    """
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text, secrets):
    """`text` with every non-empty secret in `secrets` replaced by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def cannot_read(what, path, exc):
    """'cannot read the token file /x: Permission denied', from an OSError.

    The reason is the errno's words only: str(exc) may quote more than the path.
    """
    return "cannot read the %s %s: %s" % (what, one_line(path), exc.strerror or type(exc).__name__)
