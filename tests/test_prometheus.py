"""--format prometheus and contrib/prometheus: promtool in every state, the rules' unit tests, the writer
script and units, and a live node_exporter + Prometheus reading the files the contrib command writes."""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from check_laozhang_balance import last_known
from conftest import SCRIPT, TOKEN, run_check
from daemons import CONTRIB, ROOT, NodeExporter, Prometheus, need, wait_for
from fake_api import Answer, account

PROMETHEUS = CONTRIB / "prometheus"
RULES = PROMETHEUS / "laozhang-balance-alerts.yml"
RULE_TESTS = ROOT / "tests" / "prometheus" / "laozhang-balance-alerts.test.yml"
WRITER = PROMETHEUS / "laozhang-balance-textfile"
CRON_PATH = "/usr/bin:/bin"


@pytest.fixture
def promtool():
    return need("promtool", "prometheus")


def promtool_metrics(promtool, text):
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return checked.returncode, checked.stdout + checked.stderr


def series(text):
    """{series (name and labels): value} of an exposition."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def prom(api, *args, state_home, faketime=None):
    return run_check("--url", api.url, "--format", "prometheus", *args, env={"XDG_STATE_HOME": str(state_home)},
                     faketime=faketime)


def test_metrics_pass_promtool_in_every_state(api, promtool, tmp_path):
    """OK, WARNING with a forecast, a spend spike, CRITICAL, a failure after success, a failure with no success
    ever, a usage error."""
    home = tmp_path / "state"
    key = '{server="127.0.0.1:%d",account="prod"}' % api.port
    outputs = {}
    api.answer(body=account(quota=30 * 500000, used_quota=0))
    outputs["OK"] = prom(api, "--label", "prod", "-w", "20", "-c", "5", state_home=home, faketime="2026-11-01 00:00:00")
    api.answer(body=account(quota=int(19.5 * 500000), used_quota=int(10.5 * 500000)))
    outputs["WARNING with a forecast"] = prom(api, "--label", "prod", "-w", "20", "-c", "5", "--critical-days", "1",
                                              state_home=home, faketime="2026-11-02 00:00:00")
    # Half an hour later one more USD is gone: 48 USD a day over the spend window (issue 20).
    api.answer(body=account(quota=int(18.5 * 500000), used_quota=int(11.5 * 500000)))
    outputs["WARNING on a spend spike"] = prom(api, "--label", "prod", "-w", "10", "--warning-spend", "20",
                                               state_home=home, faketime="2026-11-02 00:30:00")
    api.answer(body=account(quota=4 * 500000, used_quota=26 * 500000))
    outputs["CRITICAL"] = prom(api, "--label", "prod", "-w", "20", "-c", "5", state_home=home,
                               faketime="2026-11-03 12:00:00")
    api.answer(500, {"success": False})
    outputs["UNKNOWN after a success"] = prom(api, "--label", "prod", state_home=home)
    outputs["UNKNOWN, never a success"] = prom(api, "--label", "new", state_home=home)
    outputs["usage error"] = prom(api, "--label", "prod", "-w", "abc", state_home=home)
    for state, run in outputs.items():
        code, said = promtool_metrics(promtool, run.stdout)
        assert (code, said) == (0, ""), (state, said, run.stdout)
        assert TOKEN not in run.stdout
    assert [run.code for run in outputs.values()] == [0, 1, 1, 2, 3, 3, 3]
    spike = series(outputs["WARNING on a spend spike"].stdout)
    assert abs(spike["laozhang_balance_spend_usd_per_day" + key] - 48) < 0.1

    forecast = series(outputs["WARNING with a forecast"].stdout)
    # 19.5 USD at 10.5 USD a day: 1.857 days, in seconds (faketime starts each run a little late,
    # which moves the rate by millionths and the time left by a second or two).
    assert abs(forecast["laozhang_balance_time_left_seconds" + key] - 19.5 / 10.5 * 86400) < 60
    assert abs(forecast["laozhang_balance_usd_per_day" + key] - 10.5) < 0.001
    assert "days" not in outputs["WARNING with a forecast"].stdout.replace("USD per day", "")
    assert forecast["laozhang_balance_check_state" + key] == 1

    never = series(outputs["UNKNOWN, never a success"].stdout)
    new = key.replace('"prod"', '"new"')
    assert never == {"laozhang_balance_check_state" + new: 3, "laozhang_balance_fetch_success" + new: 0}


def test_a_failed_run_keeps_the_series_and_the_last_good_values(api, tmp_path):
    """The same series before and after the failure: only check_state and fetch_success change."""
    home = tmp_path / "state"
    token_file = tmp_path / "production.token"
    token_file.write_text(TOKEN)
    args = ("--token-file", str(token_file), "-w", "20")
    api.answer(body=account(quota=7500000))
    good = series(prom(api, *args, state_home=home).stdout)
    for failure in (Answer(500, {"success": False}), Answer(401, {"success": False, "message": "Unauthorized"})):
        api.behave(failure)
        failed = prom(api, *args, state_home=home)
        assert failed.code == 3
        after = series(failed.stdout)
        assert set(after) == set(good)
        changed = {name for name in good if good[name] != after[name]}
        assert changed == {name for name in good if name.startswith(("laozhang_balance_check_state",
                                                                     "laozhang_balance_fetch_success"))}
    # The account label is where the token comes from, never the token.
    key = '{server="127.0.0.1:%d",account="%s"}' % (api.port, token_file)
    assert after["laozhang_balance_remaining_usd" + key] == 15
    assert after["laozhang_balance_fetch_success" + key] == 0 and after["laozhang_balance_check_state" + key] == 3
    assert 'laozhang_balance_account_info{server="127.0.0.1:%d",account="%s",user="demo_user"}' % (
        api.port, token_file) in after
    assert abs(after["laozhang_balance_last_success_timestamp_seconds" + key] - time.time()) < 60


def test_a_damaged_record_of_the_last_success_repeats_nothing(api, tmp_path, monkeypatch):
    home = tmp_path / "state"
    api.answer(body=account(quota=7500000))
    prom(api, "--label", "production", state_home=home)
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    record = Path(last_known.default_path(api.url, "production"))
    assert json.loads(record.read_text())["values"]["remaining_usd"] == 15
    record.write_text('{"values": {"remaining_usd": "NaN"}, "user": "x", "time": 1}')
    api.answer(500, {"success": False})
    failed = series(prom(api, "--label", "production", state_home=home).stdout)
    key = '{server="127.0.0.1:%d",account="production"}' % api.port
    assert failed == {"laozhang_balance_check_state" + key: 3, "laozhang_balance_fetch_success" + key: 0}


def test_two_accounts_on_one_server_have_their_own_series(api, tmp_path):
    home = tmp_path / "state"
    api.answer(500, {"success": False})
    one = series(prom(api, "--label", "production", state_home=home).stdout)
    two = series(prom(api, "--label", "staging", state_home=home).stdout)
    assert len(one) == len(two) == 2 and not set(one) & set(two)
    from_env = prom(api, state_home=home).stdout
    assert 'account="$LAOZHANG_ACCESS_TOKEN"' in from_env and TOKEN not in from_env


def test_alert_rules_pass_promtool_and_their_unit_tests_cover_every_rule(promtool):
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout
    tested = subprocess.run([promtool, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    rules = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing = {case["alertname"] for test in cases for case in test["alert_rule_test"] if case["exp_alerts"]}
    quiet = {case["alertname"] for test in cases for case in test["alert_rule_test"] if not case["exp_alerts"]}
    assert firing == quiet == rules


@pytest.mark.parametrize("original, mutant", [
    ("\\\\.prom", ".prom"),                        # the unescaped dot
    ("for: 15m", "for: 10m"),
    ("laozhang_balance_fetch_success == 0", "max by (server) (laozhang_balance_fetch_success) == 0"),
    ("< 3 * 86400", "< 2 * 86400"),
    ("> 3 * laozhang_balance_usd_per_day", "> 2 * laozhang_balance_usd_per_day"),
    ("> 3 * laozhang_balance_usd_per_day", "> 3 * laozhang_balance_usd_per_day or laozhang_balance_spend_usd_per_day"),
    ("unless on (instance, account)", "unless on (instance)"),
    ("< 14 * 86400", "< 7 * 86400"),
    ("0 < laozhang_balance_key_time_left_seconds", "laozhang_balance_key_time_left_seconds"),
])
def test_the_rule_unit_tests_catch_a_broken_rule(promtool, tmp_path, original, mutant):
    """The unit tests are not a formality: each of these once-plausible rules fails them."""
    (tmp_path / "tests" / "prometheus").mkdir(parents=True)
    (tmp_path / "contrib" / "prometheus").mkdir(parents=True)
    text = RULES.read_text()
    assert original in text
    (tmp_path / "contrib" / "prometheus" / RULES.name).write_text(text.replace(original, mutant))
    shutil.copy(RULE_TESTS, tmp_path / "tests" / "prometheus")
    tested = subprocess.run([promtool, "test", "rules", str(tmp_path / "tests" / "prometheus" / RULE_TESTS.name)],
                            capture_output=True, text=True, timeout=60)
    assert tested.returncode == 1 and "FAILED" in tested.stdout + tested.stderr


# The contrib writer, run with the command lines of the unit and the cron line.

def unit_command(name, textfile_dir, token_dir):
    """laozhang-balance@NAME.service's ExecStart as argv, with this test's folders for Debian's."""
    text = (PROMETHEUS / "laozhang-balance@.service").read_text()
    (line,) = re.findall(r"^ExecStart=(.*)$", text, re.M)
    return _localize(shlex.split(line.replace("%i", name)), textfile_dir, token_dir)


def cron_command(name, textfile_dir, token_dir):
    """The command of the cron line in laozhang-balance@.timer, for account NAME instead of production."""
    text = (PROMETHEUS / "laozhang-balance@.timer").read_text()
    (line,) = re.findall(r"^#\s+(\*/15 \* \* \* \* root .*)$", text, re.M)
    words = shlex.split(line.replace("production", name))
    assert words[:6] == ["*/15", "*", "*", "*", "*", "root"]
    return _localize(words[6:], textfile_dir, token_dir)


def _localize(argv, textfile_dir, token_dir):
    assert argv[0] == "/usr/local/sbin/laozhang-balance-textfile" and argv[1] == "/var/lib/prometheus/node-exporter"
    argv = [str(WRITER), str(textfile_dir)] + argv[2:]
    return [word.replace("/etc/laozhang/", "%s/" % token_dir) for word in argv]


def writer_env(state_home, **extra):
    """What the unit or cron gives the script: a plain PATH, no token in the environment, the check's path."""
    env = {"PATH": CRON_PATH, "LAOZHANG_CHECK": SCRIPT, "XDG_STATE_HOME": str(state_home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def test_the_unit_and_the_timer_pass_systemd_analyze(tmp_path):
    analyze = need("systemd-analyze", "systemd")
    service = (PROMETHEUS / "laozhang-balance@.service").read_text()
    assert "SuccessExitStatus" not in service
    command = re.search(r"^ExecStart=(.*)$", service, re.M).group(1).split()
    assert {"-w", "-c", "--token-file"} <= set(command) and "--critical-days" in command
    # An instance, with the script where this checkout has it rather than in /usr/local/sbin.
    (tmp_path / "laozhang-balance@production.service").write_text(
        service.replace("/usr/local/sbin/laozhang-balance-textfile", str(WRITER)))
    shutil.copy(PROMETHEUS / "laozhang-balance@.timer", tmp_path / "laozhang-balance@production.timer")
    verified = subprocess.run([analyze, "verify", "--man=no", "laozhang-balance@production.service",
                               "laozhang-balance@production.timer"], capture_output=True, text=True, timeout=120,
                              cwd=str(tmp_path))
    ours = [line for line in (verified.stdout + verified.stderr).splitlines() if "laozhang" in line]
    assert verified.returncode == 0 and not ours, verified.stdout + verified.stderr


def test_the_writer_writes_states_and_fails_loudly_when_it_cannot_write(api, tmp_path):
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    (tmp_path / "production.token").write_text(TOKEN)
    argv = unit_command("production", textfile, tmp_path) + ["--url", api.url]
    target = textfile / "laozhang_balance_production.prom"
    api.answer(body=account(quota=2 * 500000))
    written = subprocess.run(argv, env=writer_env(tmp_path / "state"), capture_output=True, text=True, timeout=60)
    # CRITICAL is a state for the metrics, not a failure of the unit.
    assert (written.returncode, written.stderr) == (0, "")
    assert 'laozhang_balance_check_state{server="127.0.0.1:%d",account="production"} 2' % api.port in target.read_text()
    before = target.read_text()

    # The check is missing (cron's PATH, a venv elsewhere): exit 1, a message, the old file untouched.
    missing = subprocess.run(argv, env=writer_env(tmp_path / "state", LAOZHANG_CHECK="/nonexistent/check"),
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "exited with 127" in missing.stderr
    assert target.read_text() == before and os.listdir(textfile) == [target.name]

    # Debian's textfile directory is root:root 0755: as any other user the write fails, loudly.
    debian_like = tempfile.mkdtemp(prefix="textfile-")
    try:
        os.chmod(debian_like, 0o755)
        denied = subprocess.run([need("runuser", "util-linux"), "-u", "nobody", "--",
                                 *unit_command("production", debian_like, tmp_path)],
                                env=writer_env("/nonexistent"), capture_output=True, text=True, timeout=60)
        assert denied.returncode == 1 and "cannot write" in denied.stderr and "Permission denied" in denied.stderr
        assert os.listdir(debian_like) == []

        # The unit's root has no capabilities (CapabilityBoundingSet=): as the directory's owner it writes,
        # into a directory it does not own it is refused like anyone.
        no_capabilities = [need("setpriv", "util-linux"), "--bounding-set=-all", "--inh-caps=-all", "--"]
        argv = no_capabilities + unit_command("production", debian_like, tmp_path) + ["--url", api.url]
        written = subprocess.run(argv, env=writer_env(tmp_path / "state"), capture_output=True, text=True, timeout=60)
        assert (written.returncode, written.stderr) == (0, "")
        assert os.listdir(debian_like) == ["laozhang_balance_production.prom"]
        shutil.chown(debian_like, "nobody")
        refused = subprocess.run(argv, env=writer_env(tmp_path / "state"), capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "Permission denied" in refused.stderr
    finally:
        shutil.rmtree(debian_like)


# The live stack. Time is scaled by 1/240: the timer's 15 minutes are 3.75 s, an hour is 15 s.

SCALE = 240


def scaled_rules(path):
    """A copy of the contrib rules with every duration divided by SCALE (for: and the stale age)."""
    text = RULES.read_text()
    text = re.sub(r"for: (\d+)m", lambda m: "for: %dms" % (int(m.group(1)) * 60000 // SCALE), text)
    text, stale = re.subn(r"> 3600\b", "> %d" % (3600 // SCALE), text)
    assert stale == 1 and "for: 3750ms" in text
    path.write_text(text)
    return path


class Accounts:
    """The fake API's answers per token: each account has its own."""

    def __init__(self):
        self.answers = {}

    def __call__(self, handler):
        self.answers[handler.headers.get("Authorization")](handler)


class Timer:
    """The contrib timer, scaled: runs each account's command every 15 min / SCALE, in a thread."""

    def __init__(self, commands, env):
        self.commands = commands
        self.env = env
        self.paused = set()
        self.failures = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def run(self, name, **env):
        written = subprocess.run(self.commands[name], env=dict(self.env, **env), capture_output=True, text=True,
                                 timeout=60)
        if written.returncode != 0:
            self.failures.append((name, written.returncode, written.stderr))

    def _loop(self):
        while not self.done.wait(15 * 60 / SCALE):
            for name in self.commands:
                if name not in self.paused:
                    self.run(name)

    def stop(self):
        self.done.set()
        self.thread.join(timeout=60)


class Timeline:
    """Every change of /api/v1/alerts, polled twice a second: (seconds, alert, account, state)."""

    def __init__(self, prometheus):
        self.prometheus = prometheus
        self.started = time.monotonic()
        self.events = []
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        now = {}
        while not self.done.is_set():
            seen = {(a["labels"]["alertname"], a["labels"].get("account", "")): a["state"]
                    for a in self.prometheus.alerts()}
            at = round(time.monotonic() - self.started, 1)
            with self.lock:
                for key in sorted(set(now) | set(seen)):
                    if now.get(key) != seen.get(key):
                        self.events.append((at, key[0], key[1], seen.get(key, "resolved")))
            now = seen
            self.done.wait(0.5)

    def states(self, alert, account=""):
        with self.lock:
            return [state for _, name, who, state in self.events if (name, who) == (alert, account)]

    def reached(self, alert, account, state):
        return state in self.states(alert, account)

    def stop(self):
        self.done.set()
        self.thread.join(timeout=30)


def test_live_node_exporter_and_prometheus_raise_and_resolve_every_alert(api, tmp_path):
    """Two accounts on one fake API server, their files written by the unit's and the cron line's commands
    every 3.75 s, node_exporter's textfile collector, Prometheus with the contrib rules scaled by 1/240.

    production: Low pending then firing; a failing API keeps its balance series and Low firing while
    CheckFailing goes pending and firing; back with 4.5 USD: Critical fires, CheckFailing resolves;
    a top-up resolves Low and Critical. staging: a forecast of about two days fires RunsOutSoon, a
    top-up resolves it; its timer paused: MetricsStale fires and resolves. An empty file of a third
    account: MetricsMissing; before any file: NoMetrics.
    """
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    tokens = {"production": "sk-production-0123456789abcdef", "staging": "sk-staging-fedcba9876543210"}
    for name, token in tokens.items():
        (tmp_path / ("%s.token" % name)).write_text(token + "\n")
    accounts = Accounts()
    api.behave(accounts)
    usd = 500000
    accounts.answers[tokens["production"]] = Answer(body=account(quota=15 * usd, used_quota=10 * usd))
    accounts.answers[tokens["staging"]] = Answer(body=account(quota=30 * usd, used_quota=0, username="stager"))
    commands = {"production": unit_command("production", textfile, tmp_path) + ["--url", api.url],
                "staging": cron_command("staging", textfile, tmp_path) + ["--url", api.url]}
    env = writer_env(tmp_path / "state")

    exporter = prometheus = timer = timeline = None
    try:
        exporter = NodeExporter(textfile, tmp_path)
        prometheus = Prometheus(tmp_path, scaled_rules(tmp_path / "rules.yml"), ["127.0.0.1:%d" % exporter.port])
        timeline = Timeline(prometheus)

        # Before any run: nothing of the check at all.
        wait_for(lambda: timeline.reached("LaoZhangBalanceNoMetrics", "", "firing"), 40, "NoMetrics to fire")

        # staging's first sample a day ago, so that today's run has a forecast.
        subprocess.run(["faketime", "1 day ago", *commands["staging"]], env=env, check=True, timeout=60)
        accounts.answers[tokens["staging"]] = Answer(body=account(quota=20 * usd, used_quota=10 * usd,
                                                                  username="stager"))
        timer = Timer(commands, env)
        wait_for(lambda: timeline.reached("LaoZhangBalanceNoMetrics", "", "resolved"), 30, "NoMetrics to resolve")
        wait_for(lambda: timeline.reached("LaoZhangBalanceLow", "production", "firing"), 40, "Low to fire")
        wait_for(lambda: timeline.reached("LaoZhangBalanceRunsOutSoon", "staging", "firing"), 40,
                 "RunsOutSoon to fire")
        # Two accounts of one server in one directory: both files read, no clash.
        assert prometheus.query("node_textfile_scrape_error") and all(
            value == 0 for _, value in prometheus.query("node_textfile_scrape_error"))
        assert sorted(labels["account"] for labels, _ in prometheus.query("laozhang_balance_remaining_usd")) == [
            "production", "staging"]
        left = prometheus.query('laozhang_balance_time_left_seconds{account="staging"}')
        assert len(left) == 1 and abs(left[0][1] - 2 * 86400) < 600, left
        low_since = [a["activeAt"] for a in prometheus.alerts() if a["labels"]["alertname"] == "LaoZhangBalanceLow"]

        # production's API fails: its series stay with the last good balance, Low stays firing.
        accounts.answers[tokens["production"]] = Answer(500, {"success": False})
        wait_for(lambda: timeline.reached("LaoZhangBalanceCheckFailing", "production", "firing"), 40,
                 "CheckFailing to fire")
        assert prometheus.query('laozhang_balance_remaining_usd{account="production"}')[0][1] == 15
        assert prometheus.query('laozhang_balance_check_state{account="production"}')[0][1] == 3
        assert [a["activeAt"] for a in prometheus.alerts()
                if a["labels"]["alertname"] == "LaoZhangBalanceLow"] == low_since
        assert timeline.states("LaoZhangBalanceCheckFailing", "staging") == []

        # Back, with 4.5 USD left.
        accounts.answers[tokens["production"]] = Answer(body=account(quota=int(4.5 * usd), used_quota=20 * usd))
        wait_for(lambda: timeline.reached("LaoZhangBalanceCheckFailing", "production", "resolved"), 30,
                 "CheckFailing to resolve")
        wait_for(lambda: timeline.reached("LaoZhangBalanceCritical", "production", "firing"), 30, "Critical to fire")

        # Top-ups: a spending rate of 10 USD a day lasts 10 days on 100 USD.
        accounts.answers[tokens["production"]] = Answer(body=account(quota=50 * usd, used_quota=20 * usd))
        accounts.answers[tokens["staging"]] = Answer(body=account(quota=100 * usd, used_quota=10 * usd,
                                                                  username="stager"))
        for alert, name in (("LaoZhangBalanceCritical", "production"), ("LaoZhangBalanceLow", "production"),
                            ("LaoZhangBalanceRunsOutSoon", "staging")):
            wait_for(lambda: timeline.reached(alert, name, "resolved"), 30, "%s to resolve" % alert)

        # A writer that printed nothing, for a third account.
        (textfile / "laozhang_balance_third.prom").write_text("")
        wait_for(lambda: timeline.reached("LaoZhangBalanceMetricsMissing", "third", "firing"), 30,
                 "MetricsMissing to fire")
        (textfile / "laozhang_balance_third.prom").unlink()
        wait_for(lambda: timeline.reached("LaoZhangBalanceMetricsMissing", "third", "resolved"), 30,
                 "MetricsMissing to resolve")

        # staging's timer stops: its file goes stale (15 s, an hour scaled), then it runs again.
        timer.paused.add("staging")
        wait_for(lambda: timeline.reached("LaoZhangBalanceMetricsStale", "staging", "firing"), 40,
                 "MetricsStale to fire")
        timer.paused.discard("staging")
        wait_for(lambda: timeline.reached("LaoZhangBalanceMetricsStale", "staging", "resolved"), 30,
                 "MetricsStale to resolve")
    finally:
        for part in (timer, timeline, prometheus, exporter):
            if part is not None:
                part.stop()

    print("\nalert timeline (seconds since Prometheus was ready, alert, account, state):")
    for event in timeline.events:
        print("%6.1f  %-30s %-11s %s" % event)
    assert timer.failures == []
    expected = {("LaoZhangBalanceNoMetrics", ""): ["pending", "firing", "resolved"],
                ("LaoZhangBalanceLow", "production"): ["pending", "firing", "resolved"],
                ("LaoZhangBalanceCheckFailing", "production"): ["pending", "firing", "resolved"],
                ("LaoZhangBalanceMetricsMissing", "third"): ["pending", "firing", "resolved"],
                # No for: in these: a balance under 5 USD, a forecast, a stale file are news at once.
                ("LaoZhangBalanceCritical", "production"): ["firing", "resolved"],
                ("LaoZhangBalanceRunsOutSoon", "staging"): ["firing", "resolved"],
                ("LaoZhangBalanceMetricsStale", "staging"): ["firing", "resolved"]}
    for (alert, name), states in expected.items():
        assert timeline.states(alert, name) == states, (alert, name, timeline.events)
    assert {(alert, name) for _, alert, name, _ in timeline.events} == set(expected)
