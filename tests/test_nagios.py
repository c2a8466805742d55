"""contrib/nagios/ proven by a real Nagios 4: validated on top of Debian's stock configuration, then run."""

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, TOKEN
from daemons import CONTRIB, Daemon, need, wait_for
from fake_api import ApiServer, account
from key_servers import KEY, Gateway, Key

STOCK = Path("/etc/nagios4/nagios.cfg")
# The resource.cfg line, in a file whose name keeps it out of a `cp *.cfg conf.d/`.
RESOURCE_EXAMPLE = CONTRIB / "nagios" / "resource.cfg.example"
# Where the Debian package puts the command definition (a cfg_dir of the stock nagios.cfg).
PACKAGED_COMMAND = Path("/etc/nagios-plugins/config/laozhang_balance.cfg")


@pytest.fixture
def nagios4():
    """Nagios 4, and the plugins package whose command definitions Debian's stock configuration reads."""
    need("check_ping", "monitoring-plugins-basic", search="/usr/lib/nagios/plugins")
    return need("nagios4", "nagios4-core")


@pytest.fixture
def readable_dir():
    """A folder the nagios user can read: the stock configuration drops root to it even for -v."""
    path = Path(tempfile.mkdtemp(prefix="nagios-stock-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_drop_ins_pass_nagios4_v_on_the_stock_configuration(readable_dir, nagios4):
    """Debian's nagios.cfg as it is, its cfg_dirs and resource file copied with our files dropped in."""
    tmp_path = readable_dir
    plugins_config = tmp_path / "nagios-plugins-config"
    conf_d = tmp_path / "conf.d"
    shutil.copytree("/etc/nagios-plugins/config", plugins_config)
    shutil.copytree("/etc/nagios4/conf.d", conf_d)
    # the Debian package has put the command definition there already
    packaged = PACKAGED_COMMAND.exists()
    if not packaged:
        shutil.copy(CONTRIB / "nagios" / "laozhang_balance.cfg", plugins_config)
    shutil.copy(CONTRIB / "nagios" / "laozhang-balance-service.cfg", conf_d)
    resource = tmp_path / "resource.cfg"
    resource.write_text(Path("/etc/nagios4/resource.cfg").read_text() + RESOURCE_EXAMPLE.read_text())
    # the copies must stay readable for the nagios user whatever umask this clone was made with
    for path in tmp_path.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    main = tmp_path / "nagios.cfg"
    main.write_text(STOCK.read_text()
                    .replace("cfg_dir=/etc/nagios-plugins/config", "cfg_dir=%s" % plugins_config)
                    .replace("cfg_dir=/etc/nagios4/conf.d", "cfg_dir=%s" % conf_d)
                    .replace("resource_file=/etc/nagios4/resource.cfg", "resource_file=%s" % resource))
    checked = subprocess.run([nagios4, "-v", str(main)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout
    assert "Total Errors:   0" in checked.stdout
    stock = subprocess.run([nagios4, "-v", str(STOCK)], capture_output=True, text=True, timeout=120).stdout

    def counted(output, what):
        return int(re.search(r"Checked (\d+) %s\." % what, output).group(1))

    # our example adds one host and two services, our command file two commands, the account's and key
    # mode's (unless the package's file is in the stock count already)
    for what, added in (("services", 2), ("hosts", 1), ("commands", 0 if packaged else 2)):
        assert counted(checked.stdout, what) == counted(stock, what) + added, what


def _status(path):
    """{service_description: {field: value}} from status.dat's servicestatus blocks."""
    services = {}
    try:
        text = path.read_text()
    except FileNotFoundError:  # between Nagios' writes, or after its shutdown
        return services
    for block in re.findall(r"servicestatus \{(.*?)\n\s*\}", text, re.S):
        fields = dict(line.strip().split("=", 1) for line in block.strip().splitlines() if "=" in line)
        services[fields["service_description"]] = fields
    return services


# What Nagios makes of the shipped command: as shipped, with an empty $ARG1$
# (`check_laozhang_balance!!5`), and with $USER3$, the token file, not set.
CASES = {
    "shipped": ("20!5", True, "1", "WARNING - 15.00 USD left (account demo_user), below the warning threshold of 20 "
                "USD, no forecast yet: 0.0 h of history, 6.0 h needed", "remaining_usd=15.000000;20:;5:"),
    "empty-ARG1": ("!5", True, "0", "OK - 15.00 USD left (account demo_user), no forecast yet: 0.0 h of history, "
                   "6.0 h needed", "remaining_usd=15.000000;;5:"),
    "unset-USER3": ("20!5", False, "3", "UNKNOWN - --token-file is given but empty, as a macro that is not set leaves "
                    "it ($USER3$ of contrib/nagios, {$LAOZHANG.TOKEN_FILE} of contrib/zabbix): set it to the token "
                    "file's path, or leave --token-file out to use $LAOZHANG_ACCESS_TOKEN", ""),
}


@pytest.mark.parametrize("case", CASES)
def test_nagios_runs_the_service_and_records_its_state(monitoring_home, api, nagios4, case):
    """A real Nagios 4 runs the shipped command and service, as the nagios user wherever it can run the
    check under test (always for the package), as Debian's Nagios does."""
    home, user = monitoring_home.path, monitoring_home.user
    thresholds, user3, state, output, perf = CASES[case]
    api.answer(body=account(quota=7500000))
    plugins = home / "plugins"
    plugins.mkdir()
    (plugins / "check_laozhang_balance").symlink_to(SCRIPT)
    token = home / "laozhang.token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    for sub in ("spool", "rw"):
        (home / sub).mkdir()
    (home / "resource.cfg").write_text("$USER1$=%s\n%s" % (plugins, RESOURCE_EXAMPLE.read_text()
                                       .replace("/etc/nagios4/laozhang.token", str(token)) if user3 else ""))
    # Nagios reads its objects after dropping to nagios_user: copies it can read.
    shutil.copy(CONTRIB / "nagios" / "laozhang_balance.cfg", home / "command.cfg")
    # The shipped service, pointed at the test server through its third argument.
    service = (CONTRIB / "nagios" / "laozhang-balance-service.cfg").read_text()
    assert "check_laozhang_balance!20!5!--warning-days 7" in service
    # The key service, pointed at a gateway whose key expires in five days.
    key_api = ApiServer()
    key_api.behave(Gateway("new-api", key=Key(remain=30000000, expires_at=int(time.time()) + 5 * 86400)))
    key_file = home / "chatbot.key"
    key_file.write_text(KEY)
    key_file.chmod(0o600)
    assert "check_laozhang_key!/etc/nagios4/laozhang-chatbot.key!5!1!--warning-expiry 14" in service
    (home / "service.cfg").write_text(service.replace(
        "check_laozhang_balance!20!5!--warning-days 7",
        "check_laozhang_balance!%s!--warning-days 7 --url %s --state-file %s/state.json" % (thresholds, api.url,
                                                                                             home)).replace(
        "check_laozhang_key!/etc/nagios4/laozhang-chatbot.key!5!1!--warning-expiry 14",
        "check_laozhang_key!%s!5!1!--warning-expiry 14 --url %s --state-file %s/key-state.json"
        % (key_file, key_api.url, home)))
    # Debian's templates and the ping.cfg that defines linux-server's host check
    objects = "\n".join(["cfg_file=/etc/nagios4/objects/%s.cfg" % name
                         for name in ("commands", "contacts", "timeperiods", "templates")]
                        + ["cfg_file=/etc/nagios-plugins/config/ping.cfg"])
    (home / "nagios.cfg").write_text('''
log_file=%(d)s/nagios.log
%(objects)s
cfg_file=%(d)s/command.cfg
cfg_file=%(d)s/service.cfg
resource_file=%(d)s/resource.cfg
status_file=%(d)s/status.dat
status_update_interval=1
object_cache_file=%(d)s/objects.cache
precached_object_file=%(d)s/objects.precache
temp_file=%(d)s/nagios.tmp
temp_path=%(d)s
lock_file=%(d)s/nagios.lock
command_file=%(d)s/rw/nagios.cmd
check_result_path=%(d)s/spool
state_retention_file=%(d)s/retention.dat
nagios_user=%(user)s
nagios_group=%(user)s
interval_length=1
check_result_reaper_frequency=1
max_service_check_spread=1
max_host_check_spread=1
enable_notifications=0
use_syslog=0
log_service_retries=1
''' % {"d": home, "objects": objects, "user": user})
    monitoring_home.hand_over()
    checked = subprocess.run([nagios4, "-v", str(home / "nagios.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    daemon = Daemon([nagios4, str(home / "nagios.cfg")], home / "daemon.log",
                    env=dict(os.environ, XDG_STATE_HOME=str(home)))
    try:
        both = wait_for(lambda: (lambda s: s if all(s.get(name, {}).get("plugin_output") for name in (
            "LaoZhang balance", "LaoZhang key chatbot")) else None)(_status(home / "status.dat")), 90,
            "a result for both services in Nagios' status.dat")
        status, key_status = both["LaoZhang balance"], both["LaoZhang key chatbot"]
        # Nagios removes status.dat when it stops.
        status_text = (home / "status.dat").read_text()
    finally:
        daemon.stop()
        key_api.close()
    assert key_status["current_state"] == "1"
    assert re.match(r"LAOZHANG_BALANCE WARNING - 60\.00 USD left \(key chatbot-prod\), expires \S+ \S+ UTC, below "
                    r"the warning threshold of 14 days", key_status["plugin_output"]), key_status["plugin_output"]
    assert re.search(r"key_days_left=4\.99;14:;@~:0", key_status["performance_data"]), key_status["performance_data"]
    assert KEY not in status_text and key_api.seen[0]["headers"]["Authorization"] == "Bearer " + KEY
    assert status["current_state"] == state
    assert status["plugin_output"] == "LAOZHANG_BALANCE " + output
    assert perf in status["performance_data"]
    log = (home / "nagios.log").read_text()
    if state != "0":
        word = output.split()[0]
        assert "SERVICE ALERT: llm-gateway;LaoZhang balance;%s;SOFT;1;LAOZHANG_BALANCE %s" % (word, word) in log
    assert TOKEN not in log and TOKEN not in status_text
    # Nagios may check the balance again (a retry) while the key service's first result is awaited.
    assert {seen["headers"]["Authorization"] for seen in api.seen} == ({TOKEN} if user3 else set())
    if user3:
        # the check ran as that user: the forecast's state file it wrote is that user's
        assert (home / "state.json").owner() == user
