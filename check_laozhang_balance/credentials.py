"""Where the secret comes from (the access token, or a model API key in key mode): a file or the
environment, never the command line."""

import logging
import os
import stat

from nagiosplugin import CheckError

from .safe_text import cannot_read, keep_secret, one_line

ENV_VAR = "LAOZHANG_ACCESS_TOKEN"
KEY_ENV_VAR = "LAOZHANG_API_KEY"

class Kind:
    """One kind of secret and the words that name it in messages."""

    # A plain class: a namedtuple costs every run more to define than this module does to run.
    __slots__ = ("what", "file", "option", "env_var", "content", "macros")

    def __init__(self, what, file, option, env_var, content, macros):
        self.what, self.file, self.option, self.env_var, self.content, self.macros = (
            what, file, option, env_var, content, macros)
TOKEN = Kind("access token", "token file", "--token-file", ENV_VAR, "the account's system AccessToken",
             " ($USER3$ of contrib/nagios, {$LAOZHANG.TOKEN_FILE} of contrib/zabbix)")
KEY = Kind("API key", "key file", "--key-file", KEY_ENV_VAR, "the model API key (sk-...) the application uses", "")

_log = logging.getLogger("nagiosplugin")

# A real token is a few dozen characters; this only bounds a wrong file.
_MAX_FILE = 64 * 1024
# Control characters, which no header may hold; a set, not a compiled
# pattern, which would cost more than reading the token.
_NOT_IN_HEADER = frozenset(map(chr, (*range(0x20), 0x7f)))


def mode(token_file, key_file, environ):
    """'token' or 'key': which secret this run uses, or ValueError when that is not clear.

    An option wins over the environment; of the two variables alone, the one that is set.
    """
    if token_file is not None and key_file is not None:
        raise ValueError("--token-file and --key-file are two modes: give one of them")
    if key_file is not None:
        return "key"
    if token_file is None and environ.get(KEY_ENV_VAR, "").strip():
        if environ.get(ENV_VAR, "").strip():
            raise ValueError("both %s and %s are set: give --token-file or --key-file to choose the mode, or unset "
                             "one" % (ENV_VAR, KEY_ENV_VAR))
        return "key"
    return "token"


def load(path, environ, kind=TOKEN):
    """(secret, notes): the secret to send, and remarks for the verbose output.

    The secret is never part of an error: a message that quoted it would
    put it into notifications and monitoring history.
    """
    notes = []
    if path is not None and not path.strip():
        # What `--token-file '$USER3$'` becomes when the macro is not set:
        # falling back to the environment would use a secret nobody chose.
        raise CheckError("%s is given but empty, as a macro that is not set leaves it%s: set it to the %s's "
                         "path, or leave %s out to use $%s" % (kind.option, kind.macros, kind.file, kind.option,
                                                               kind.env_var))
    if path:
        secret = _read_file(path, notes, kind).strip()
        origin = "the %s %s" % (kind.file, one_line(path))
    else:
        secret = environ.get(kind.env_var, "").strip()
        origin = "$%s" % kind.env_var
        if not secret:
            raise CheckError("no %s: set %s in the check's environment or give %s PATH"
                             % (kind.what, kind.env_var, kind.option))
    if not secret:
        raise CheckError("%s is empty: put %s in it" % (origin, kind.content))
    # Before anything a server says is shown: it may echo the secret back.
    keep_secret(secret)
    _log.info("%s from %s, %d characters", kind.what, origin, len(secret))
    if not _NOT_IN_HEADER.isdisjoint(secret) or not _latin1(secret):
        raise CheckError("%s holds a line break, a control character or a non-Latin-1 character, "
                         "so it cannot be sent as an HTTP header: copy the %s again" % (origin, kind.what.split()[-1]))
    return secret, notes


def _latin1(text):
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _read_file(path, notes, kind):
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise CheckError("the %s %s is not a regular file" % (kind.file, one_line(path)))
            raw = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise CheckError(cannot_read(kind.file, path, exc)) from None
    if len(raw) > _MAX_FILE:
        raise CheckError("the %s %s is too large to hold %s" % (kind.file, one_line(path), kind.what))
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        notes.append("the %s %s is open to every user on this machine (mode %04o): chmod 600 it, or 640 with "
                     "the monitoring user's group" % (kind.file, one_line(path), stat.S_IMODE(mode)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CheckError("the %s %s is not UTF-8 text" % (kind.file, one_line(path))) from None
