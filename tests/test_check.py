"""The installed check against a real HTTP server on 127.0.0.1: every state, every exit code."""

import json

import pytest

from conftest import TOKEN, run_check
from fake_api import SAMPLE, account


def test_ok_with_documented_sample(api):
    run = run_check("--url", api.url, "-w", "20", "-c", "5")
    assert run.code == 0
    assert run.status == "LAOZHANG_BALANCE OK - 49.99 USD left (account demo_user)"
    assert run.perf == {
        "remaining_usd": "49.995818;20:;5:",
        "quota": "24997909;10000000:;2500000:",
        "used_quota": "10027091c",
        "request_count": "339c",
    }


def test_request_is_a_gzip_get_with_the_token_as_documented(api):
    run_check("--url", api.url)
    (request,) = api.seen
    assert request["method"] == "GET"
    assert request["path"] == "/api/user/self"
    assert request["headers"]["Authorization"] == TOKEN
    assert request["headers"]["Accept"] == "application/json"
    assert "gzip" in request["headers"]["Accept-Encoding"]


def test_bearer_prefixed_token_is_sent_unchanged(api):
    run_check("--url", api.url, token="Bearer " + TOKEN)
    assert api.seen[0]["headers"]["Authorization"] == "Bearer " + TOKEN


def test_uncompressed_answer_is_read_too(api):
    api.answer(gzip=False)
    assert run_check("--url", api.url).code == 0


@pytest.mark.parametrize("quota, code, status", [
    (7500000, 1, "LAOZHANG_BALANCE WARNING - 15.00 USD left (account demo_user), "
                 "below the warning threshold of 20 USD"),
    (1000000, 2, "LAOZHANG_BALANCE CRITICAL - 2.00 USD left (account demo_user), "
                 "below the critical threshold of 5 USD"),
])
def test_crossed_threshold_is_named(api, quota, code, status):
    api.answer(body=account(quota=quota))
    run = run_check("--url", api.url, "-w", "20", "-c", "5")
    assert run.code == code
    assert run.status == status


def test_balance_equal_to_threshold_is_not_below_it(api):
    api.answer(body=account(quota=10000000))
    assert run_check("--url", api.url, "-w", "20").code == 0


@pytest.mark.parametrize("quota, code", [(0, 2), (-250000, 2), (1, 1)])
def test_without_critical_nothing_left_is_critical(api, quota, code):
    api.answer(body=account(quota=quota))
    run = run_check("--url", api.url, "-w", "20")
    assert run.code == code
    if code == 2:
        assert "nothing left: the account can serve no requests" in run.status
        assert run.perf["remaining_usd"].endswith(";20:;@~:0")


@pytest.mark.parametrize("empty", ["", " "])
def test_empty_thresholds_from_unset_macros_are_not_set(api, empty):
    # `check_laozhang_balance!!5`: Nagios passes an empty $ARG1$ to --warning
    api.answer(body=account(quota=7500000))  # 15 USD
    run = run_check("--url", api.url, "-w", empty, "-c", "5", "--warning-days", empty, "--critical-days", empty)
    assert run.code == 0
    assert run.status == "LAOZHANG_BALANCE OK - 15.00 USD left (account demo_user)"
    assert run.perf["remaining_usd"] == "15.000000;;5:"
    api.answer(body=account(quota=0))
    run = run_check("--url", api.url, "-w", "20", "-c", empty)
    assert run.status == ("LAOZHANG_BALANCE CRITICAL - 0.00 USD left (account demo_user), nothing left: the "
                          "account can serve no requests")
    assert run.perf["remaining_usd"] == "0.000000;20:;@~:0"


@pytest.mark.parametrize("critical", ["0", "0.00", None])
def test_critical_zero_is_critical_when_empty_like_the_default(api, critical):
    api.answer(body=account(quota=0))
    run = run_check("--url", api.url, "-w", "20", *(["-c", critical] if critical else []))
    assert run.code == 2
    assert run.status == ("LAOZHANG_BALANCE CRITICAL - 0.00 USD left (account demo_user), nothing left: the "
                          "account can serve no requests")
    assert run.perf["remaining_usd"] == "0.000000;20:;@~:0"
    api.answer(body=account(quota=5000))  # 0.01 USD
    assert run_check("--url", api.url, "-w", "20", *(["-c", critical] if critical else [])).code == 1


def test_critical_range_zero_colon_still_alerts_only_below_zero(api):
    api.answer(body=account(quota=0))
    run = run_check("--url", api.url, "-w", "20", "-c", "0:")
    assert run.code == 1
    assert run.perf["remaining_usd"] == "0.000000;20:;0:"


def test_large_balance_keeps_its_cents(api):
    api.answer(body=account(quota=617280000))
    run = run_check("--url", api.url)
    assert run.status.startswith("LAOZHANG_BALANCE OK - 1234.56 USD left")
    assert run.perf["remaining_usd"].startswith("1234.560000;")


def test_full_nagios_range_syntax(api):
    api.answer(body=account(quota=7500000))
    run = run_check("--url", api.url, "-w", "@10:20")
    assert run.code == 1
    assert "between 10 and 20 USD, the warning range @10:20" in run.status
    assert run.perf["quota"] == "7500000;@5000000:10000000;@~:0"


def test_quota_per_unit_changes_the_conversion(api):
    run = run_check("--url", api.url, "--quota-per-unit", "1000000", "-w", "30")
    assert run.code == 1
    assert run.status.startswith("LAOZHANG_BALANCE WARNING - 24.99 USD left")
    assert run.perf["quota"].startswith("24997909;30000000:;")


def test_unknown_fields_are_ignored_and_access_token_never_shown(api):
    secret = "old-new-api-echoes-this-access-token-5f2a"
    api.answer(body=account(access_token=secret, unexpected={"nested": [1, 2]}))
    for verbosity in ([], ["-v"], ["-vv"], ["-vvv"]):
        run = run_check("--url", api.url, *verbosity, secrets=[secret])
        assert run.code == 0


def test_token_file_is_read_and_stripped(api, tmp_path):
    path = tmp_path / "token"
    path.write_text("\n  %s \n" % TOKEN)
    path.chmod(0o600)
    run = run_check("--url", api.url, "--token-file", str(path), token=None)
    assert run.code == 0
    assert api.seen[0]["headers"]["Authorization"] == TOKEN


def test_token_file_wins_over_environment(api, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    run_check("--url", api.url, "--token-file", str(path), token="env-token-not-used-0000")
    assert api.seen[0]["headers"]["Authorization"] == TOKEN


def test_no_token_is_unknown_and_sends_nothing(api):
    run = run_check("--url", api.url, token=None)
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - no access token: set LAOZHANG_ACCESS_TOKEN in the "
                          "check's environment or give --token-file PATH")
    assert api.seen == []


@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_token_file_option_says_so_and_sends_nothing(api, empty):
    # Nagios's `--token-file '$USER3$'` when $USER3$ is not set, with a token in the environment
    run = run_check("--url", api.url, "--token-file", empty)
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --token-file is given but empty, as a macro that is not set "
                          "leaves it ($USER3$ of contrib/nagios, {$LAOZHANG.TOKEN_FILE} of contrib/zabbix): set it "
                          "to the token file's path, or leave --token-file out to use $LAOZHANG_ACCESS_TOKEN")
    assert api.seen == []


def test_unreadable_token_file_is_unknown(api, tmp_path):
    run = run_check("--url", api.url, "--token-file", str(tmp_path / "missing"), token=None)
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - cannot read the token file %s: No such file or directory"
                          % (tmp_path / "missing"))
    assert api.seen == []


@pytest.mark.parametrize("status, message", [(401, "Unauthorized"), (403, "Forbidden")])
def test_refused_token_is_unknown_with_the_api_message(api, status, message):
    api.answer(status, {"success": False, "message": message})
    run = run_check("--url", api.url)
    assert run.code == 3
    assert run.status == (
        "LAOZHANG_BALANCE UNKNOWN - authentication refused (HTTP %d, API says '%s'): use the account's system "
        "AccessToken (console: account settings, System Token), not a model API key" % (status, message))


def test_success_false_with_http_200_is_a_refusal(api):
    api.answer(200, {"success": False, "message": "无权进行此操作，未登录且未提供 access token"})
    run = run_check("--url", api.url)
    assert run.code == 3
    assert "authentication refused (HTTP 200, API says '无权进行此操作，未登录且未提供 access token')" in run.status


@pytest.mark.parametrize("status, body, expected", [
    (500, {"success": False, "message": "database is down"},
     "the API is failing (HTTP 500 Internal Server Error, API says 'database is down'), a fault on the server's "
     "side: wait, or ask its operator"),
    (404, b"404 page not found", "no balance endpoint at this address (HTTP 404 Not Found): check --url"),
    (400, {"message": "bad request"}, "the API rejected the request (HTTP 400 Bad Request, API says 'bad request')"),
])
def test_other_http_errors_are_unknown(api, status, body, expected):
    api.answer(status, body)
    run = run_check("--url", api.url)
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected


@pytest.mark.parametrize("body, expected", [
    (b"this is not json", "the answer is not valid JSON"),
    (b"<html><body>Login</body></html>", "the answer is an HTML page, not JSON: is --url the API endpoint?"),
    ({"success": True, "data": None}, "the answer has no 'data' object (null instead)"),
    ({"success": True, "data": {"used_quota": 1, "request_count": 1}}, "the answer's data has no 'quota'"),
    ({"success": True, "data": {"quota": "24997909", "used_quota": 1, "request_count": 1}},
     "the answer's data.quota is a string, not a number"),
    ({"success": True, "data": {"quota": 1, "used_quota": None, "request_count": 1}},
     "the answer's data.used_quota is null, not a number"),
    ({"success": True, "data": {"quota": 1, "used_quota": 1}}, "the answer's data has no 'request_count'"),
])
def test_garbage_answers_are_unknown_and_say_which_part(api, body, expected):
    api.answer(200, body)
    run = run_check("--url", api.url)
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected


@pytest.mark.parametrize("args, expected", [
    (["-w", "abc"], "argument -w/--warning: 'abc' is neither a USD amount nor a Nagios range"),
    (["-c", "10:5"], "argument -c/--critical: '10:5' is an empty range: its start is above its end"),
    (["-t", "soon"], "argument -t/--timeout: 'soon' is not a whole number of seconds from 1 to 86400"),
    (["--quota-per-unit", "0"],
     "argument --quota-per-unit: '0' is neither 'auto' nor a number of quota units per USD from 0.001 to "
     "1000000000000"),
    (["--quota-per-unit", "auto", "--response-file", "-"],
     "--quota-per-unit auto asks the server, --response-file does not: give the ratio as a number"),
    (["--user-id", "admin"], "argument --user-id: 'admin' is not a numeric user id"),
    (["--token", TOKEN], "unrecognized arguments: --token and 1 more word (the access token is read from "
                         "--token-file or LAOZHANG_ACCESS_TOKEN, a model API key from --key-file or LAOZHANG_API_KEY, "
                         "never from the command line)"),
    (["--token=" + TOKEN], "unrecognized arguments: --token (the access token is read from "
                           "--token-file or LAOZHANG_ACCESS_TOKEN, a model API key from --key-file or LAOZHANG_API_KEY, "
                         "never from the command line)"),
    (["extra"], "unrecognized arguments: 1 word"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["-w"], "argument -w/--warning: expected one argument"),
])
def test_usage_errors_are_unknown_never_exit_2(api, args, expected):
    # run_check fails the test if the token pasted with --token comes back
    # out: argparse's own message would echo it.
    run = run_check("--url", api.url, *args)
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - %s (see --help)" % expected
    assert run.code == 3
    assert api.seen == []


def test_help_and_version_exit_zero():
    help_run = run_check("--help")
    assert help_run.code == 0
    for option in ("--warning", "--critical", "--timeout", "--url", "--token-file", "--quota-per-unit",
                   "--response-file", "--verbose", "--version", "LAOZHANG_ACCESS_TOKEN"):
        assert option in help_run.stdout
    version_run = run_check("-V")
    assert version_run.code == 0
    assert version_run.stdout.startswith("check_laozhang_balance ")


def test_response_file_needs_no_token_and_no_network(tmp_path):
    run = run_check("--response-file", str(SAMPLE), "-w", "60", "--url", "http://127.0.0.1:9/", token=None)
    assert run.code == 1
    assert run.status.startswith("LAOZHANG_BALANCE WARNING - 49.99 USD left (account demo_user)")


def test_response_from_stdin(tmp_path):
    run = run_check("--response-file", "-", "-c", "60", stdin=json.dumps(account()).encode(), token=None)
    assert run.code == 2


def test_missing_response_file_is_unknown(tmp_path):
    run = run_check("--response-file", str(tmp_path / "nope.json"), token=None)
    assert run.code == 3
    assert "cannot read the response file" in run.status


def test_verbose_adds_details_and_diagnostics_without_secrets(api):
    run = run_check("--url", api.url, "-v")
    assert run.code == 0
    assert "account demo_user, group svip" in run.lines
    assert "used quota 10027091 units = 20.054182 USD over 339 requests" in run.lines
    assert run.lines[-1].startswith("| ")
    diagnostics = run_check("--url", api.url, "-vvv")
    text = diagnostics.stdout
    assert "GET %s" % api.url in text
    assert "HTTP 200 from %s" % api.url in text
    assert "Content-Encoding gzip" in text


def test_progress_comes_before_the_details_it_led_to(api):
    run = run_check("--url", api.url, "-vv", "-w", "60")
    assert run.code == 1
    assert run.lines[:6] == [
        "LAOZHANG_BALANCE WARNING - 49.99 USD left (account demo_user), below the warning threshold of 60 USD",
        "access token from $LAOZHANG_ACCESS_TOKEN, %d characters" % len(TOKEN),
        "GET %s" % api.url,
        "connected directly (no proxy variable is set)",
        "account demo_user, group svip",
        "remaining quota 24997909 units = 49.995818 USD at 500000 units per USD"]
    assert run.lines[-1].startswith("| ")


def test_help_says_what_each_option_takes():
    text = " ".join(run_check("--help").stdout.split())
    assert ("--token-file PATH read the access token from the file PATH; without this option it comes from the "
            "environment variable LAOZHANG_ACCESS_TOKEN") in text
    assert ("--user-id ID send the header New-Api-User: ID, for a new-api server that refuses without it "
            "('New-Api-User header not provided'); ID is the numeric user id its console shows") in text


def test_exit_codes_match_states_for_every_state(api):
    codes = {}
    for quota, expected in ((30000000, 0), (7500000, 1), (1000000, 2)):
        api.answer(body=account(quota=quota))
        codes[expected] = run_check("--url", api.url, "-w", "20", "-c", "5").code
    api.answer(body=b"{}")
    codes[3] = run_check("--url", api.url, "-w", "20", "-c", "5").code
    assert codes == {0: 0, 1: 1, 2: 2, 3: 3}
