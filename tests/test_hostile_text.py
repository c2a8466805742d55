"""Text a server sends never crashes the check, reorders its output, breaks a format or reveals the token.

Issue 19, points 1 to 4: lone surrogates, bidi and other format characters, a locale that cannot
encode the text, and a server that echoes the token (long messages, names, cleaned forms). The
shared runner already fails any run whose output holds a control or format character, an
exception's class name or an 8-character piece of the token; these tests add the machine formats'
decoded strings and the token's cleaned forms.
"""

import json
import os
import subprocess
import unicodedata

import pytest

from conftest import SECRET_PIECE, TOKEN, hidden_characters, run_check
from daemons import need
from fake_api import Answer, account

FORMATS = ("nagios", "json", "prometheus")

# Every kind of format character the issue names: embeddings and overrides,
# isolates, marks, the Arabic letter mark, a zero-width joiner and a BOM.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200d\ufeff"


def _raw_json(**strings):
    """An account answer whose string fields are written with JSON escapes exactly as given."""
    document = json.dumps(account(quota=5000000, **{field: "@@%s@@" % field for field in strings}))
    for field, escaped in strings.items():
        document = document.replace('"@@%s@@"' % field, '"%s"' % escaped)
    return document.encode()


def _strings(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _run(api, output_format, *args, **kwargs):
    run = run_check("--url", api.url, "--format", output_format, *args, **kwargs)
    if output_format == "json":
        # ASCII escapes pass the runner's look at the raw bytes; the decoded strings must be clean too.
        for text in _strings(json.loads(run.stdout)):
            assert not hidden_characters(text), text
    return run


@pytest.mark.parametrize("output_format", FORMATS)
def test_lone_surrogates_in_every_field(api, tmp_path, output_format):
    api.answer(200, _raw_json(username="\\ud800INJECT\\udfff", group="\\udfffgrp", display_name="\\ud800"))
    run = _run(api, output_format, "-v", env={"XDG_STATE_HOME": str(tmp_path)})
    assert run.code == 0, run.stdout
    assert "INJECT" in run.stdout
    # The default state file is named from a hash of the account name.
    names = [p.name for p in (tmp_path / "check_laozhang_balance").iterdir()
             if p.suffix == ".json" and not p.name.startswith("last-")]
    assert len(names) == 1 and names[0].isascii(), names


def test_lone_surrogate_in_an_error_message(api):
    api.answer(500, b'{"success":false,"message":"\\ud800broken\\udfff"}', gzip=False)
    run = run_check("--url", api.url)
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - the API is failing (HTTP 500 Internal Server Error, API says "
                          "'broken'), a fault on the server's side: wait, or ask its operator")


@pytest.mark.parametrize("output_format", FORMATS)
def test_format_characters_never_reach_any_output(api, output_format):
    api.answer(body=account(username="ad" + BIDI + "min", group="vip" + BIDI, display_name=BIDI))
    run = _run(api, output_format, "-v")
    assert run.code == 0
    assert "ad min" in run.stdout


@pytest.mark.parametrize("output_format", FORMATS)
def test_format_characters_in_a_refusal(api, output_format):
    api.answer(401, {"success": False, "message": "\u202eden\u2066ied\u2069 \x1b[2J\x07|x=1"})
    run = _run(api, output_format)
    assert run.code == 3
    if output_format != "prometheus":  # which carries no status text
        assert "API says 'den ied [2J x=1'" in run.stdout


LOCALES = [{"PYTHONIOENCODING": "latin-1"}, {"LANG": "C", "LC_ALL": "C"},
           {"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}]


@pytest.mark.parametrize("locale", LOCALES, ids=["latin-1", "C", "ascii"])
def test_json_is_ascii_and_valid_in_any_locale(api, locale):
    api.answer(body=account(username="张三\U0001f600"))
    run = run_check("--url", api.url, "--format", "json", env=locale)
    assert run.stdout.isascii()
    assert json.loads(run.stdout)["account"] == "张三\U0001f600"


@pytest.mark.parametrize("locale", LOCALES, ids=["latin-1", "C", "ascii"])
def test_prometheus_is_utf8_in_any_locale(api, locale):
    api.answer(body=account(username="张三\U0001f600"))
    run = run_check("--url", api.url, "--format", "prometheus", env=locale)
    assert ',user="张三\U0001f600"} 1' in run.stdout
    promtool = need("promtool", "prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=run.stdout.encode(), capture_output=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_token_echoed_after_the_cut_of_a_long_message(api):
    for prefix in (150, 175, 180, 185, 199, 300):
        api.answer(500, {"success": False, "message": "e" * prefix + TOKEN + " tail"})
        run = run_check("--url", api.url)
        assert run.code == 3
        # The runner has checked that no piece of the token is left; the cut comes after the redaction.
        assert "***" in run.status or "…'), a fault on the server's side" in run.status


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("field", ["username", "display_name", "group"])
def test_token_echoed_as_a_name(api, output_format, field):
    api.answer(body=account(**{field: TOKEN}))
    run = _run(api, output_format, "-v")
    assert run.code == 0


def _pieces(text):
    return {text[i:i + SECRET_PIECE] for i in range(len(text) - SECRET_PIECE + 1)}


@pytest.mark.parametrize("token", [
    "sk-pipe|in|the|token-0123456789abcdef",
    "sk-two  spaces   and-more-0123456789",
    "sk-non\xa0breaking\xa0space-0123456789",
], ids=["pipes", "space-runs", "nbsp"])
def test_token_that_cleaning_would_change_is_still_hidden(api, token):
    cleaned = " ".join(token.replace("|", " ").split())
    fancy = token.replace(" ", "\u200b ").replace("|", "\x1b")
    for echoed in (token, cleaned, fancy):
        api.answer(401, {"success": False, "message": "token %s is invalid" % echoed})
        for output_format in FORMATS:
            run = _run(api, output_format, "-v", token=token)
            assert run.code == 3
            leaked = [piece for piece in _pieces(cleaned) if piece in run.stdout]
            assert not leaked, leaked
            if output_format != "prometheus":
                assert "token *** is invalid" in run.stdout


def test_token_with_bearer_prefix_echoed_without_it(api):
    api.answer(401, {"success": False, "message": "unknown key " + TOKEN})
    run = run_check("--url", api.url, token="Bearer " + TOKEN)
    assert "API says 'unknown key ***'" in run.status


def test_hidden_characters_helper_knows_the_categories():
    assert hidden_characters("a\nb") == []
    assert hidden_characters("\u202e\x1b\x85") == ["U+001B", "U+0085", "U+202E"]
    assert all(unicodedata.category(c) == "Cf" for c in BIDI)
