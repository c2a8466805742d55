"""A test CA, an HTTPS stand-in for the API with a certificate from it, and trust stores that hold it.

Used by the tests and by the benchmark, so both verify the way a monitoring host does: against a
hashed CA directory like Debian's /etc/ssl/certs (OpenSSL's capath) or a bundle file.
"""

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import trustme

from fake_api import ApiServer

SYSTEM_CA_DIR = Path("/etc/ssl/certs")
SYSTEM_BUNDLE = SYSTEM_CA_DIR / "ca-certificates.crt"

# What a monitoring host's environment may carry; a test or the benchmark
# sets the ones it means, so that the machine's own settings decide nothing.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def https_api(ca):
    """An ApiServer on https://127.0.0.1 whose certificate `ca` issued."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return ApiServer(tls=context)


def new_ca():
    return trustme.CA()


def hashed_dir(ca, directory, with_system=True):
    """`directory` as update-ca-certificates leaves /etc/ssl/certs, with `ca` added (None: without it).

    A copy of the system's links when `with_system`, so that OpenSSL searches a store of the real size.
    """
    directory = Path(directory)
    if with_system and SYSTEM_CA_DIR.is_dir():
        shutil.copytree(SYSTEM_CA_DIR, directory, symlinks=True)
    else:
        directory.mkdir(parents=True)
    if ca is not None:
        pem = directory / "check-laozhang-test-ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        subject_hash = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", str(pem)],
                                      capture_output=True, text=True, check=True).stdout.strip()
        # OpenSSL looks a CA up as <hash>.0, .1, ... by its subject's hash.
        suffix = 0
        while (directory / ("%s.%d" % (subject_hash, suffix))).exists():
            suffix += 1
        os.symlink(pem.name, directory / ("%s.%d" % (subject_hash, suffix)))
    return directory


def bundle(ca, path, with_system=True):
    """A PEM bundle file at `path`: the system's bundle (when `with_system`) and `ca`."""
    path = Path(path)
    system = SYSTEM_BUNDLE.read_bytes() if with_system and SYSTEM_BUNDLE.is_file() else b""
    path.write_bytes(system + ca.cert_pem.bytes())
    return path


def trust_env(**trust):
    """Environment overrides: every trust variable empty (unset, for requests and for the check) but `trust`.

    The machine's own settings (this one sets REQUESTS_CA_BUNDLE) must not decide what a test proves.
    """
    return dict({name: "" for name in TRUST_VARIABLES}, **{k: str(v) for k, v in trust.items()})
