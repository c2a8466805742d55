"""Extreme and hostile arguments: one clear UNKNOWN line, bounded and clean, never an exception's name.

Issue 19, points 7 and 8. The runner fails any run whose output holds a control or format
character or an exception's class name; these tests add the bounds on what is echoed back.
"""

import json
import subprocess

import pytest

from conftest import run_check
from daemons import need
from fake_api import account

SAMPLE = ["--response-file", "contrib/sample-response.json"]
# Nagios 4 keeps 8 KiB of a plugin's output; a usage error needs a fraction of that.
MOST = 400


def usage_error(*args, output_format=None):
    extra = ["--format", output_format] if output_format else []
    run = run_check(*args, *extra)
    assert run.code == 3, run.stdout
    if output_format == "json":
        status = json.loads(run.stdout)["status"]
    elif output_format == "prometheus":
        # No status text, and a fixed set of families.
        assert len(run.stdout) < 2 * MOST and "fetch_success" in run.stdout, run.stdout
        return ""
    else:
        assert len(run.stdout) < MOST and len(run.lines) == 1, run.stdout
        status = run.status
    assert len(status) < MOST, status
    assert "|" not in status
    return status


@pytest.mark.parametrize("args, expected", [
    (["-t", "9999999999"], "argument -t/--timeout: '9999999999' is not a whole number of seconds from 1 to 86400"),
    (["--quota-per-unit", "1e-400"], "argument --quota-per-unit: '1e-400' is neither 'auto' nor a number of quota "
                                     "units per USD from 0.001 to 1000000000000"),
    (["--quota-per-unit", "1e400"], "argument --quota-per-unit: '1e400' is neither 'auto' nor a number of quota "
                                    "units per USD from 0.001 to 1000000000000"),
    (["--url", "https://[::1/x"], "argument --url: 'https://[::1/x' is not a valid address: its host or port is "
                                  "malformed"),
    (["--url", "http://127.0.0.1:99999/x"], "argument --url: 'http://127.0.0.1:99999/x' is not a valid address: its "
                                            "host or port is malformed"),
    (["-w", "1" * 50], "argument -w/--warning: '%s…' is beyond the largest threshold this check takes, 10^15 USD"
                       % ("1" * 39)),
    (["--critical-days", "1e20"], "argument --critical-days: '1e20' is neither a number of days nor a Nagios range"),
])
def test_extreme_arguments(args, expected):
    assert usage_error(*args, *SAMPLE) == "LAOZHANG_BALANCE UNKNOWN - %s (see --help)" % expected


@pytest.mark.parametrize("output_format", [None, "json", "prometheus"])
def test_extreme_timeout_in_every_format(output_format):
    usage_error("-t", "9" * 30, *SAMPLE, output_format=output_format)


def test_auto_ratio_missing_with_verbose(api):
    def server(handler):
        if handler.path.startswith("/api/status"):
            body = b'{"success": true, "data": {"system_name": "x"}}'
        else:
            body = json.dumps(account()).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    api.behave(server)
    for verbosity in ([], ["-v"], ["-vvv"]):
        run = run_check("--url", api.url, "--quota-per-unit", "auto", *verbosity)
        assert run.code == 3
        assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --quota-per-unit auto: the server's /api/status has no "
                              "positive data.quota_per_unit (from 0.001 to 1000000000000), give the ratio as "
                              "--quota-per-unit N")
    assert "remaining quota 24997909 units, used quota 10027091 units over 339 requests" in run.lines


def test_pipe_in_a_threshold_makes_no_performance_data():
    status = usage_error("-w", "5|fake=1;2;3", *SAMPLE)
    assert status == ("LAOZHANG_BALANCE UNKNOWN - argument -w/--warning: '5 fake=1:2:3' is neither a USD amount nor "
                      "a Nagios range (see --help)")


@pytest.mark.parametrize("option", ["-w", "-c", "--warning-days", "--format", "--user-id", "-t",
                                    "--forecast-window", "--quota-per-unit"])
def test_100_kib_argument_gives_a_short_line(option):
    usage_error(option, "9" * 50000 + "|x" + "a" * 50000, *SAMPLE)


@pytest.mark.parametrize("url, expected", [
    ("9" * 50000 + "|x" + "a" * 50000, "--url must be an https:// address of the balance endpoint"),
    ("https://[" + "a" * 100000 + "/x", "argument --url: 'https://[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' is not a valid "
                                        "address: its host or port is malformed (see --help)"),
    ("https://127.0.0.1:1/" + "a|" * 50000, "connection to 127.0.0.1:1 refused: nothing listens there"),
], ids=["no-scheme", "bad-host", "long-path"])
def test_100_kib_url_gives_a_short_line(url, expected):
    run = run_check("--url", url, "-t", "3", "-vvv")
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected
    assert len(run.stdout) < 4 * MOST, len(run.stdout)


def test_100_kib_unknown_option_gives_a_short_line():
    usage_error("--" + "x" * 100000, *SAMPLE)


@pytest.mark.parametrize("output_format", [None, "json"])
def test_escape_and_bell_in_url_are_not_printed(output_format):
    status = usage_error("--url", "https://x\x1b[31m\x07/\u202eevil", *SAMPLE, output_format=output_format)
    assert "\x1b" not in status and "\x07" not in status


def test_escape_and_bell_in_a_valid_url_are_not_printed():
    run = run_check("--url", "https://no-such-host.invalid/\x1b]0;owned\x07/api/user/self", "-t", "3")
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - cannot resolve the host name no-such-host.invalid: check --url " \
                         "and DNS"


def test_control_characters_in_a_token_file_path(tmp_path):
    path = str(tmp_path / "tok\x1b[2Jen\u202e|x=1")
    run = run_check("--token-file", path, "--url", "https://127.0.0.1:1/api/user/self", token=None)
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - cannot read the token file %s: No such file or directory"
                          % (str(tmp_path) + "/tok [2Jen x=1"))


@pytest.mark.parametrize("args, server, account", [
    (["--url", "https://[::1/x"], "", "$LAOZHANG_ACCESS_TOKEN"),
    (["--url", "https://127.0.0.1:1/\udcff"], "127.0.0.1:1", "$LAOZHANG_ACCESS_TOKEN"),
    (["--url", "https://127.0.0.1:1/", "--label", "team\udcff\x1b[2J\u202e\"x"], "127.0.0.1:1", 'team [2J \\"x'),
], ids=["url-no-url", "url-not-utf-8", "label-with-controls"])
def test_hostile_words_in_prometheus_series(args, server, account):
    run = run_check(*args, "-t", "3", "--format", "prometheus")
    assert run.code == 3
    assert 'laozhang_balance_fetch_success{server="%s",account="%s"} 0' % (server, account) in run.lines
    promtool = need("promtool", "prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=run.stdout.encode(), capture_output=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example", "ex ample.com", "%zz"])
def test_host_names_that_no_resolver_takes(host):
    run = run_check("--url", "https://%s/api/user/self" % host, "-t", "3", "-vvv")
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - --url is not a valid address: its host name %s is malformed" % host
