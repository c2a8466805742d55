"""Key mode: the installed check with a model API key against gateways that answer as one-api and new-api do."""

import calendar
import json
import subprocess

import pytest

from conftest import run_check
from daemons import need
from key_servers import KEY, Failing, Gateway, Key, Nothing

NOW = "2026-11-28 00:00:00"


def at(when):
    return calendar.timegm(tuple(int(x) for x in when.replace("-", " ").replace(":", " ").split()) + (0, 0, 0))


def key_run(api, *args, key=KEY, env=None, **kwargs):
    """A key-mode run: the key in LAOZHANG_API_KEY, no AccessToken anywhere, the clock at NOW."""
    environ = {"LAOZHANG_API_KEY": key} if key is not None else {}
    environ.update(env or {})
    return run_check("--url", api.url, *args, token=None, env=environ, secrets=(KEY,), faketime=NOW, **kwargs)


def paths(api):
    return [request["path"] for request in api.seen]


def test_new_api_reads_the_keys_own_quota_in_one_request(api):
    api.behave(Gateway("new-api"))
    run = key_run(api, "-w", "20", "-c", "5")
    assert run.status == ("LAOZHANG_BALANCE WARNING - 15.00 USD left (key chatbot-prod), below the warning "
                          "threshold of 20 USD")
    assert run.perf == {"remaining_usd": "15.000000;20:;5:", "quota": "7500000;10000000:;2500000:",
                        "used_quota": "2500000c"}
    assert paths(api) == ["/api/usage/token"]
    assert api.seen[0]["headers"]["Authorization"] == "Bearer " + KEY


def test_verbose_says_which_endpoint_and_whose_figures(api):
    api.behave(Gateway("new-api"))
    run = key_run(api, "-v")
    assert "key chatbot-prod: figures from /api/usage/token, the key's own" in run.lines
    assert "never expires" in run.lines


@pytest.mark.parametrize("token_stat, expected", [(True, "15.00"), (False, "120.00")], ids=["key", "account"])
@pytest.mark.parametrize("currency", [True, False], ids=["usd", "quota-units"])
def test_one_api_billing_pair(api, token_stat, expected, currency):
    api.behave(Gateway("one-api", token_stat=token_stat, currency=currency))
    run = key_run(api, "-v")
    assert run.status == "LAOZHANG_BALANCE OK - %s USD left" % expected
    assert paths(api) == ["/api/usage/token", "/v1/dashboard/billing/subscription", "/api/status",
                          "/v1/dashboard/billing/usage"]
    assert ("key (no name given): figures from /v1/dashboard/billing/subscription and /usage, the key's own or the "
            "whole account's, by the server's DisplayTokenStatEnabled setting") in run.lines
    assert "request_count" not in run.perf


def test_billing_url_pins_the_endpoint(api):
    api.behave(Gateway("one-api"))
    url = api.url.replace("/api/user/self", "/v1/dashboard/billing/subscription")
    run = run_check("--url", url, token=None, env={"LAOZHANG_API_KEY": KEY}, secrets=(KEY,))
    assert run.code == 0
    assert "/api/usage/token" not in paths(api)


@pytest.mark.parametrize("family", ["new-api", "one-api"])
def test_unlimited_key_is_ok_without_a_made_up_balance(api, family):
    api.behave(Gateway(family, key=Key(unlimited=True)))
    run = key_run(api, "-w", "20")
    assert run.code == 0
    assert run.status.startswith("LAOZHANG_BALANCE OK - no quota limit, 5.00 USD used")
    assert "remaining_usd" not in run.perf and "quota" not in run.perf
    assert "100000000" not in run.stdout


@pytest.mark.parametrize("family", ["new-api", "one-api"])
def test_expiry_thresholds(api, family):
    api.behave(Gateway(family, key=Key(expires_at=at("2026-12-07 12:00:00"))))
    run = key_run(api, "--warning-expiry", "14", "--critical-expiry", "3")
    assert run.status == ("LAOZHANG_BALANCE WARNING - 15.00 USD left%s, expires 2026-12-07 12:00 UTC, below the "
                          "warning threshold of 14 days" % (" (key chatbot-prod)" if family == "new-api" else ""))
    assert run.perf["key_days_left"] == "9.50;14:;3:"


@pytest.mark.parametrize("family", ["new-api", "one-api"])
def test_an_expired_key_is_critical_by_default(api, family):
    api.behave(Gateway(family, key=Key(expires_at=at("2026-11-20 12:00:00"))))
    run = key_run(api)
    assert run.code == 2
    assert run.status.endswith("expired 2026-11-20 12:00 UTC, a key past its expiry serves no requests")


def test_error_inside_http_200(api):
    api.behave(Failing())
    run = key_run(api)
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - the server could not report the key's figures (HTTP 200, API "
                          "says 'record not found [one_api_error]')")


@pytest.mark.parametrize("family, said", [
    ("new-api", "HTTP 200, API says '获取令牌信息失败'"),
    ("one-api", "HTTP 401, API says '无效的令牌 [one_api_error]'"),
])
def test_a_wrong_key_is_refused_with_advice(api, family, said):
    api.behave(Gateway(family))
    run = key_run(api, key="sk-not-the-right-one-0000000000")
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - the API key was refused (%s): use the model API key (sk-...) "
                          "the application uses, not the system AccessToken" % said)


def test_a_server_without_key_endpoints_points_to_the_token_mode(api):
    api.behave(Nothing())
    run = key_run(api)
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - this server offers no key endpoint (/api/usage/token or "
                          "/v1/dashboard/billing/subscription) at %s: key mode is not available here, use the "
                          "AccessToken mode (--token-file) instead" % api.url)


def test_key_from_a_file_and_never_on_argv(api, tmp_path):
    api.behave(Gateway("new-api"))
    key_file = tmp_path / "app.key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    run = run_check("--url", api.url, "--key-file", str(key_file), token=None, secrets=(KEY,))
    assert run.code == 0 and "(key chatbot-prod)" in run.status
    missing = run_check("--url", api.url, "--key-file", str(tmp_path / "nope"), token=None)
    assert missing.status == ("LAOZHANG_BALANCE UNKNOWN - cannot read the key file %s: No such file or directory"
                              % (tmp_path / "nope"))


def test_a_key_echoed_by_the_server_is_never_printed(api):
    def echo(handler):
        from key_servers import send
        send(handler, 200, {"success": False, "message": "token %s not found" % KEY})

    api.behave(echo)
    for verbosity in ([], ["-v"], ["-vvv"]):
        run = key_run(api, *verbosity)
        assert "token *** not found" in run.status


@pytest.mark.parametrize("args, env, expected", [
    (["--token-file", "/x", "--key-file", "/y"], {}, "--token-file and --key-file are two modes: give one of them"),
    ([], {"LAOZHANG_ACCESS_TOKEN": "a", "LAOZHANG_API_KEY": "b"},
     "both LAOZHANG_ACCESS_TOKEN and LAOZHANG_API_KEY are set: give --token-file or --key-file to choose the mode, "
     "or unset one"),
    (["--key-file", "/y", "--response-file", "-"], {},
     "--response-file reads a saved /api/user/self answer, which key mode does not use"),
])
def test_unclear_modes_are_usage_errors(args, env, expected):
    run = run_check(*args, token=None, env=env)
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - %s (see --help)" % expected


def test_no_key_says_where_it_is_looked_for(api):
    run = run_check("--url", api.url, "--key-file", "", token=None)
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --key-file is given but empty, as a macro that is not set "
                          "leaves it: set it to the key file's path, or leave --key-file out to use $LAOZHANG_API_KEY")
    run = run_check("--url", api.url, token=None, env={"LAOZHANG_API_KEY": " "})
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - no access token: set LAOZHANG_ACCESS_TOKEN in the check's "
                          "environment or give --token-file PATH")


def test_json_output_in_key_mode(api):
    api.behave(Gateway("new-api", key=Key(expires_at=at("2026-12-08 00:00:00"))))
    document = json.loads(key_run(api, "--format", "json").stdout)
    assert document["state"] == "OK"
    assert document["remaining_usd"] == 15
    assert document["key"] == {"name": "chatbot-prod", "expires_at": at("2026-12-08 00:00:00"), "unlimited": False,
                               "days_left": 10, "source": "/api/usage/token"}


def test_forecast_in_key_mode(api, tmp_path):
    state = tmp_path / "key-state.json"
    for day, (remain, used) in enumerate([(7500000, 2500000), (7000000, 3000000)]):
        api.behave(Gateway("new-api", key=Key(remain=remain, used=used)))
        run = run_check("--url", api.url, "--state-file", str(state), token=None, env={"LAOZHANG_API_KEY": KEY},
                        secrets=(KEY,), faketime="2026-11-%02d 00:00:00" % (10 + day))
    assert run.status.startswith("LAOZHANG_BALANCE OK - 14.00 USD left (key chatbot-prod), about 14.0 days at "
                                 "1.00 USD/day")


@pytest.mark.parametrize("key", [Key(expires_at=at("2026-12-08 00:00:00")), Key(unlimited=True)],
                         ids=["expiring", "unlimited"])
def test_prometheus_output_in_key_mode(api, tmp_path, key):
    promtool = need("promtool", "prometheus")
    api.behave(Gateway("new-api", key=key))
    key_file = tmp_path / "chatbot.key"
    key_file.write_text(KEY)
    run = run_check("--url", api.url, "--key-file", str(key_file), "--format", "prometheus", token=None,
                    secrets=(KEY,), faketime=NOW, home=tmp_path)
    checked = subprocess.run([promtool, "check", "metrics"], input=run.stdout, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    labels = '{server="127.0.0.1:%d",account="%s"}' % (api.port, key_file)
    assert "laozhang_balance_fetch_success%s 1" % labels in run.lines
    if key.unlimited:
        assert not [line for line in run.lines if line.startswith("laozhang_balance_remaining_usd")]
    else:
        assert "laozhang_balance_key_time_left_seconds%s 864000" % labels in run.lines
