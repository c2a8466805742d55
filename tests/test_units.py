"""Pure logic: threshold parsing and wording, USD conversion and formatting, answer parsing."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nagiosplugin import CheckError

from check_laozhang_balance import thresholds
from check_laozhang_balance.account import Reply, from_reply
from check_laozhang_balance.money import cents, micros, plain, to_usd
from check_laozhang_balance.safe_text import keep_secret, one_line, redact


@pytest.mark.parametrize("text, nagios, alerts, passes", [
    ("20", "20:", [19.99, 0, -1], [20, 20.01, 1e9]),
    ("0", "@~:0", [0, -0.01], [0.01, 5]),
    ("0.00", "@~:0", [0], [0.01]),
    ("0:", "0:", [-0.01], [0, 5]),
    ("10.5", "10.5:", [10.49], [10.5]),
    ("5:10", "5:10", [4.99, 10.01], [5, 7, 10]),
    ("~:3", "~:3", [3.01], [-100, 3]),
    ("@1:2", "@1:2", [1, 1.5, 2], [0.99, 2.01]),
    ("@~:0", "@~:0", [0, -5], [0.01]),
    ("@10", "@10", [0, 10], [-0.01, 10.01]),
    (" 7 ", "7:", [6.99], [7]),
])
def test_threshold_parsing_follows_nagios_ranges(text, nagios, alerts, passes):
    rng = thresholds.parse(text)
    assert thresholds.spec(rng) == nagios
    assert [rng.match(v) for v in alerts] == [False] * len(alerts)
    assert [rng.match(v) for v in passes] == [True] * len(passes)


@pytest.mark.parametrize("text", ["", " ", "\t"])
def test_an_empty_threshold_is_no_threshold(text):
    assert thresholds.parse(text) is None


@pytest.mark.parametrize("text", ["abc", "1:2:3", "1e3", "nan", "inf", "~", "@", ":", "5:~", "10:5", "--5"])
def test_bad_thresholds_are_refused_with_a_sentence(text):
    with pytest.raises(ValueError) as info:
        thresholds.parse(text)
    assert "threshold" in str(info.value) or "range" in str(info.value)


@pytest.mark.parametrize("text, quota", [
    ("20", "10000000:"), ("0.5", "250000:"), ("0", "@~:0"), ("0:", "0:"), ("5:10", "2500000:5000000"),
    ("@~:0", "@~:0"), ("~:3", "~:1500000"), ("0.000001", "0.5:"),
])
def test_thresholds_scale_to_quota_units(text, quota):
    assert thresholds.spec(thresholds.parse(text), Decimal(500000)) == quota


@pytest.mark.parametrize("text, words", [
    ("20", "below the warning threshold of 20 USD"),
    ("@~:0", "nothing left: the account can serve no requests"),
    ("@~:5", "at or below the warning threshold of 5 USD"),
    ("@5:", "at or above the warning threshold of 5 USD"),
    ("~:3", "above the warning threshold of 3 USD"),
    ("5:10", "outside 5 to 10 USD, the warning range 5:10"),
    ("@1:2", "between 1 and 2 USD, the warning range @1:2"),
])
def test_threshold_violations_read_as_words(text, words):
    assert thresholds.describe(thresholds.parse(text), "warning") == words


@pytest.mark.parametrize("quota, shown, precise", [
    (24997909, "49.99", "49.995818"),
    (617280000, "1234.56", "1234.560000"),
    (500000000000, "1000000.00", "1000000.000000"),
    (0, "0.00", "0.000000"),
    (-1, "-0.01", "-0.000002"),
    (Decimal("1.5"), "0.00", "0.000003"),
])
def test_usd_formatting_never_rounds_up_nor_to_significant_digits(quota, shown, precise):
    usd = to_usd(quota, 500000)
    assert cents(usd) == shown
    assert micros(usd) == precise


@pytest.mark.parametrize("number, text", [(Decimal("2500000.0"), "2500000"), (Decimal("0.50"), "0.5"), (7, "7"),
                                          (Decimal("1E+6"), "1000000")])
def test_plain_numbers_have_no_exponent(number, text):
    assert plain(number) == text


def _reply(body, status=200):
    return Reply(status=status, body=body.encode() if isinstance(body, str) else body)


def test_answer_parsing_keeps_exact_numbers():
    found = from_reply(_reply('{"success":true,"data":{"quota":1.25,"used_quota":3,"request_count":4,'
                              '"username":"u","group":"g","extra":{}}}'))
    assert (found.quota, found.used_quota, found.request_count, found.username, found.group) == (
        Decimal("1.25"), 3, 4, "u", "g")


@pytest.mark.parametrize("body, words", [
    ('{"success":true,"data":{"quota":NaN,"used_quota":0,"request_count":0}}', "not valid JSON"),
    ('{"success":true,"data":{"quota":1e999999999,"used_quota":0,"request_count":0}}', "not a plausible number"),
    ('{"success":true,"data":{"quota":true,"used_quota":0,"request_count":0}}', "data.quota is a boolean"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
    (b"\xff\xfe{", "not valid JSON"),
    ("[]", "JSON but a list"),
    ("null", "JSON but null"),
])
def test_bad_answers_raise_check_errors(body, words):
    with pytest.raises(CheckError) as info:
        from_reply(_reply(body))
    assert words in str(info.value)


def test_access_token_in_an_error_message_is_redacted():
    body = '{"success":false,"message":"bad token secret-123","data":{"access_token":"secret-123"}}'
    with pytest.raises(CheckError) as info:
        from_reply(_reply(body, 200))
    assert "secret-123" not in str(info.value)
    assert "bad token ***" in str(info.value)


def test_one_line_flattens_and_bounds_server_text():
    assert one_line("a\nb|c\r\n\td") == "a b c d"
    assert len(one_line("x" * 500)) == 200


def test_redact_replaces_every_secret_in_every_form():
    keep_secret("Bearer tok|en  x")
    assert redact("a Bearer tok|en  x b tok|en  x") == "a *** b ***"
    assert one_line("said tok\u200ben\xa0x, tok en x") == "said ***, ***"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
numbers = st.integers() | st.decimals(allow_nan=False, allow_infinity=False).map(str) | st.floats().map(repr)


def _check_parsed(body):
    try:
        found = from_reply(_reply(body))
    except CheckError as exc:
        assert str(exc)
        return
    usd = to_usd(found.quota, 500000)
    assert cents(usd) and micros(usd) and plain(found.quota) and plain(found.used_quota)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_yields_an_account_or_a_clean_error(document):
    _check_parsed(json.dumps(document))


@settings(max_examples=300, deadline=None)
@given(numbers, numbers, numbers, json_values)
def test_any_numbers_in_the_fields_yield_an_account_or_a_clean_error(quota, used, count, extra):
    _check_parsed('{"success": true, "data": {"quota": %s, "used_quota": %s, "request_count": %s, "x": %s}}'
                  % (quota, used, count, json.dumps(extra)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_yield_an_account_or_a_clean_error(body):
    _check_parsed(body)


_HIDDEN = ("Cc", "Cf", "Cs")


@given(st.text(st.characters(), max_size=300), st.integers(min_value=2, max_value=250))
def test_one_line_leaves_no_hidden_character_and_keeps_its_bound(text, limit):
    import unicodedata

    shown = one_line(text, limit)
    assert len(shown) <= limit
    assert "|" not in shown and "\n" not in shown
    assert not [c for c in shown if unicodedata.category(c) in _HIDDEN]


# A token made of letters that the text around it never holds, so any piece
# of it in the output can only have come from the token.
_TOKEN_CHARS = "QWXZ|\xa0 "


@given(st.text(st.sampled_from(_TOKEN_CHARS), min_size=12, max_size=40).filter(lambda t: t.strip()),
       st.text(st.characters(blacklist_characters=_TOKEN_CHARS), max_size=260),
       st.text(st.characters(blacklist_characters=_TOKEN_CHARS), max_size=40),
       st.integers(min_value=20, max_value=250))
def test_no_piece_of_a_secret_survives_cleaning_and_cutting(token, before, after, limit):
    token = token.strip()
    keep_secret(token)
    for echoed in (token, " ".join(token.replace("|", " ").split()), token.replace(" ", "\u200b ")):
        shown = one_line(before + echoed + after, limit)
        cleaned = " ".join(token.replace("|", " ").split())
        assert not any(piece in shown for piece in (cleaned[i:i + 8] for i in range(len(cleaned) - 7))), shown
