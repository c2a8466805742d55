"""Which CAs verify the server: the system's hashed directory by default, the administrator's variables, --ca-file.

Each run gets every trust variable unset but the ones a test names (this machine's environment
sets REQUESTS_CA_BUNDLE, a monitoring daemon's usually sets nothing).
"""

import os
import ssl
from collections import namedtuple

import pytest

from check_laozhang_balance import trust
from conftest import TOKEN, run_check
from trust_store import TRUST_VARIABLES, bundle, hashed_dir, https_api, new_ca, trust_env

REFUSED = "LAOZHANG_BALANCE UNKNOWN - the TLS certificate of 127.0.0.1:"


@pytest.fixture(scope="module")
def ca():
    return new_ca()


@pytest.fixture
def server(ca):
    api = https_api(ca)
    yield api
    api.close()


@pytest.fixture(scope="module")
def stores(ca, tmp_path_factory):
    """Private copies of the system's store: a hashed directory and a bundle, with and without the test CA."""
    where = tmp_path_factory.mktemp("stores")
    return {"dir": hashed_dir(ca, where / "certs"), "dir without": hashed_dir(None, where / "certs-without"),
            "bundle": bundle(ca, where / "bundle.pem"), "ca file": bundle(ca, where / "ca.pem", with_system=False)}


def test_ca_in_the_default_hashed_directory_is_trusted_without_ca_file(server, stores):
    run = run_check("--url", server.url, "-v", env=trust_env(SSL_CERT_DIR=stores["dir"]))
    assert run.code == 0, run.stdout
    assert run.status.startswith("LAOZHANG_BALANCE OK - 49.99 USD left")
    assert "TLS: the server's certificate is verified against $SSL_CERT_DIR (%s)" % stores["dir"] in run.lines
    assert server.seen[0]["headers"]["Authorization"] == TOKEN


def test_ca_missing_from_the_default_store_is_refused_before_the_token_is_sent(server, stores):
    run = run_check("--url", server.url, "-v", env=trust_env(SSL_CERT_DIR=stores["dir without"]))
    assert run.code == 3
    assert run.status.startswith(REFUSED) and "which this machine does not trust" in run.status
    assert server.seen == []


def test_without_variables_the_system_ca_directory_is_used(server):
    run = run_check("--url", server.url, "-v", env=trust_env())
    # The test CA is in no system store, so it is refused; -v says where the check looked.
    assert run.status.startswith(REFUSED) and "which this machine does not trust" in run.status
    system = os.path.realpath(ssl.get_default_verify_paths().openssl_capath)
    assert "TLS: the server's certificate is verified against the system's CA directory %s" % system in run.lines
    assert server.seen == []


@pytest.mark.parametrize("variable", TRUST_VARIABLES)
def test_each_variable_names_the_store(server, stores, variable):
    store = stores["dir" if variable == "SSL_CERT_DIR" else "bundle"]
    run = run_check("--url", server.url, "-v", env=trust_env(**{variable: store}))
    assert run.code == 0, run.stdout
    assert "TLS: the server's certificate is verified against $%s (%s)" % (variable, store) in run.lines


def test_the_first_variable_set_wins(server, stores):
    # REQUESTS_CA_BUNDLE (without the test CA) before SSL_CERT_DIR (with it), as requests reads them.
    run = run_check("--url", server.url, env=trust_env(REQUESTS_CA_BUNDLE=stores["dir without"],
                                                       SSL_CERT_DIR=stores["dir"]))
    assert run.status.startswith(REFUSED) and "which this machine does not trust" in run.status


def test_ca_file_is_used_whatever_the_variables_say(server, stores, tmp_path):
    run = run_check("--url", server.url, "--ca-file", str(stores["ca file"]), "-v",
                    env=trust_env(REQUESTS_CA_BUNDLE=tmp_path / "missing.pem", SSL_CERT_DIR=stores["dir without"]))
    assert run.code == 0, run.stdout
    assert "TLS: the server's certificate is verified against --ca-file %s" % stores["ca file"] in run.lines


@pytest.mark.parametrize("variable", TRUST_VARIABLES)
@pytest.mark.parametrize("verbosity", [[], ["-vvv"]])
def test_variable_naming_a_missing_store(server, tmp_path, variable, verbosity):
    missing = tmp_path / "no-such-store"
    run = run_check("--url", server.url, *verbosity, env=trust_env(**{variable: missing}))
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - $%s names %s, which does not exist: point it at a CA bundle "
                          "(PEM) or a hashed CA directory, or unset it to use the system's CAs" % (variable, missing))
    assert server.seen == []


def test_plain_http_to_loopback_ignores_the_trust_variables(api, tmp_path):
    run = run_check("--url", api.url, "-v", env=trust_env(REQUESTS_CA_BUNDLE=tmp_path / "missing.pem"))
    assert run.code == 0
    assert not any(line.startswith("TLS:") for line in run.lines)


def test_help_names_the_variables_that_change_the_store():
    run = run_check("--help")
    text = " ".join(run.stdout.split())
    for variable in TRUST_VARIABLES:
        assert "$" + variable in text
    assert "else the system's CA directory, /etc/ssl/certs on Debian, else requests' bundle" in text


# Where there is no variable: the system's store as this OpenSSL was built to find it.

Paths = namedtuple("Paths", "openssl_capath openssl_cafile")


def test_system_directory_needs_hash_links(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "ca.pem").write_text("")
    hashed = tmp_path / "hashed"
    hashed.mkdir()
    (hashed / "0123abcd.0").write_text("")
    assert trust._hashed(str(hashed))
    assert not trust._hashed(str(plain))
    assert not trust._hashed(str(tmp_path / "absent"))
    assert not trust._hashed(None)


def test_fallbacks_when_the_system_has_no_directory(tmp_path, monkeypatch):
    """A system bundle file without a hashed directory (Fedora), then nothing at all (requests' own bundle)."""
    for variable in TRUST_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    system_bundle = tmp_path / "cert.pem"
    system_bundle.write_text("")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: Paths(str(tmp_path / "certs"), str(system_bundle)))
    trust.store.cache_clear()
    assert trust.store(None) == (str(system_bundle), "the system's CA bundle %s" % system_bundle)
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: Paths(None, str(tmp_path / "none.pem")))
    trust.store.cache_clear()
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    path, origin = trust.store(None)
    assert path == DEFAULT_CA_BUNDLE_PATH
    assert "this system has no CA store of its own" in origin
    trust.store.cache_clear()
