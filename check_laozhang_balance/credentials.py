"""Where the access token comes from: a file or the environment, never the command line."""

import logging
import os
import re
import stat

from nagiosplugin import CheckError

from .safe_text import cannot_read, keep_secret, one_line

ENV_VAR = "LAOZHANG_ACCESS_TOKEN"

_log = logging.getLogger("nagiosplugin")

# A real token is a few dozen characters; this only bounds a wrong file.
_MAX_FILE = 64 * 1024
_NOT_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")


def load(token_file, environ):
    """(token, notes): the token to send, and remarks for the verbose output.

    The token is never part of an error: a message that quoted it would
    put it into notifications and monitoring history.
    """
    notes = []
    if token_file is not None and not token_file.strip():
        # What `--token-file '$USER3$'` becomes when the macro is not set:
        # falling back to the environment would use a token nobody chose.
        raise CheckError("--token-file is given but empty, as a macro that is not set leaves it ($USER3$ "
                         "of contrib/nagios, {$LAOZHANG.TOKEN_FILE} of contrib/zabbix): set it to the token "
                         "file's path, or leave --token-file out to use $%s" % ENV_VAR)
    if token_file:
        token = _read_file(token_file, notes).strip()
        origin = "the token file %s" % one_line(token_file)
    else:
        token = environ.get(ENV_VAR, "").strip()
        origin = "$%s" % ENV_VAR
        if not token:
            raise CheckError("no access token: set %s in the check's environment or give --token-file PATH" % ENV_VAR)
    if not token:
        raise CheckError("%s is empty: put the account's system AccessToken in it" % origin)
    # Before anything a server says is shown: it may echo the token back.
    keep_secret(token)
    _log.info("access token from %s, %d characters", origin, len(token))
    if _NOT_IN_HEADER.search(token) or not _latin1(token):
        raise CheckError("%s holds a line break, a control character or a non-Latin-1 character, "
                         "so it cannot be sent as an HTTP header: copy the token again" % origin)
    return token, notes


def _latin1(text):
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _read_file(path, notes):
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise CheckError("the token file %s is not a regular file" % one_line(path))
            raw = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise CheckError(cannot_read("token file", path, exc)) from None
    if len(raw) > _MAX_FILE:
        raise CheckError("the token file %s is too large to hold a token" % one_line(path))
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        notes.append("the token file %s is open to every user on this machine (mode %04o): "
                     "chmod 600 it, or 640 with the monitoring user's group" % (one_line(path), stat.S_IMODE(mode)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CheckError("the token file %s is not UTF-8 text" % one_line(path)) from None
