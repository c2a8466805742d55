"""contrib/icinga/ as Icinga Web 2 and the Director show and deploy it, proven by one real stack per session:
PostgreSQL (IDO, Icinga Web and Director databases), Icinga 2 with the API and the IDO, Icinga Web 2
served by icingacli with external authentication."""

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from conftest import TOKEN, free_port
from daemons import (CONTRIB, Daemon, Graphite, Postgres, icinga_constants, icinga_node_certificates, icinga_node_main_conf,
                     icinga_pki, need, wait_for)
from fake_api import Answer, ApiServer, account
from key_servers import KEY
from test_icinga import plugin_dir, services_every_two_seconds

NODE = "icingaweb-test"
API_PASSWORD = "director-api-secret"
BASKET = CONTRIB / "icinga" / "director-basket.json"
GRAPH_TEMPLATES = CONTRIB / "icinga" / "graphite" / "laozhang_balance.ini"
WEB_MODULES = Path("/usr/share/icingaweb2/modules")
# The Icinga 2 API's certificate is for the node name, and the test talks to 127.0.0.1.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


class Stack:
    """The running stack: where its parts listen and how to talk to them."""

    def __init__(self, base):
        self.base = base
        self.api_port = free_port()
        self.web_port = free_port()
        self.env = None

    def url(self, path, **params):
        return "http://127.0.0.1:%d/%s?%s" % (self.web_port, path.lstrip("/"), urllib.parse.urlencode(params, quote_via=urllib.parse.quote))

    def page(self, path, **params):
        """An Icinga Web 2 page as the externally authenticated admin sees it (the HTML of its content)."""
        answer = requests.get(self.url(path, **params), timeout=60, headers={"X-Requested-With": "XMLHttpRequest"})
        assert answer.status_code == 200, (path, params, answer.status_code, answer.text[-3000:])
        return answer.text

    def service_page(self, host, service, showing):
        """The monitoring module's detail page of a service, once it shows `showing` (404 until the IDO has it)."""
        def shown():
            answer = requests.get(self.url("monitoring/service/show", host=host, service=service), timeout=60,
                                  headers={"X-Requested-With": "XMLHttpRequest"})
            return answer.text if answer.status_code == 200 and showing in answer.text else None

        return wait_for(shown, 120, "%r on the Icinga Web 2 page of %s!%s" % (showing, host, service))

    def icinga_api(self, path, **params):
        answer = requests.get("https://127.0.0.1:%d/v1/%s" % (self.api_port, path), params=params,
                              auth=("director", API_PASSWORD), verify=False, timeout=30,
                              headers={"Accept": "application/json"})
        answer.raise_for_status()
        return answer.json()["results"]

    def icinga_api_post(self, path, body):
        answer = requests.post("https://127.0.0.1:%d/v1/%s" % (self.api_port, path), json=body,
                               auth=("director", API_PASSWORD), verify=False, timeout=30,
                               headers={"Accept": "application/json"})
        answer.raise_for_status()

    def director_sql(self, query):
        """Rows of a query in the Director's database, as tuples of strings."""
        out = self.pg.psql("director", "COPY (%s) TO STDOUT" % query).stdout.decode()
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def icingacli(self, *args, stdin=None):
        done = subprocess.run(["icingacli", *args], input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=300)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout


def _ini(path, sections):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("[%s]\n%s\n" % (name, "".join('%s = "%s"\n' % kv for kv in values.items()))
                            for name, values in sections.items()))


def _databases(pg):
    """The IDO, Icinga Web's and the Director's databases, each with its schema where the package ships one."""
    pg.create_database("icinga_ido", "icinga", "icinga")
    pg.psql("icinga_ido", file="/usr/share/icinga2-ido-pgsql/schema/pgsql.sql", user="icinga")
    pg.create_database("icingaweb", "icingaweb", "icingaweb")
    pg.psql("icingaweb", file="/usr/share/icingaweb2/schema/pgsql.schema.sql", user="icingaweb")
    # The Director creates its own schema (migration run) but needs pgcrypto.
    pg.create_database("director", "director", "director", extensions=("pgcrypto",))


def _icingaweb_config(stack, pg):
    """ICINGAWEB_CONFIGDIR: external authentication for 'admin', the IDO backend, the Director and
    contrib/icinga/README.md's protected_customvars."""
    conf = stack.base / "icingaweb2"
    db = {"type": "db", "db": "pgsql", "host": "127.0.0.1", "port": str(pg.port), "charset": "utf8"}
    _ini(conf / "config.ini", {"global": {"config_backend": "db", "config_resource": "icingaweb_db",
                                          "show_stacktraces": "1"},
                               "logging": {"log": "file", "file": str(stack.base / "icingaweb2.log"),
                                           "level": "ERROR"}})
    _ini(conf / "resources.ini", {
        "icingaweb_db": dict(db, dbname="icingaweb", username="icingaweb", password="icingaweb"),
        "icinga_ido": dict(db, dbname="icinga_ido", username="icinga", password="icinga"),
        "director_db": dict(db, dbname="director", username="director", password="director")})
    _ini(conf / "authentication.ini", {"autologin": {"backend": "external"}})
    _ini(conf / "roles.ini", {"admins": {"users": "admin", "permissions": "*"}})
    _ini(conf / "modules/monitoring/backends.ini", {"icinga": {"type": "ido", "resource": "icinga_ido"}})
    readme = (CONTRIB / "icinga" / "README.md").read_text()
    protected = re.search(r'^protected_customvars = "([^"]+)"$', readme, re.M).group(1)
    _ini(conf / "modules/monitoring/config.ini", {"security": {"protected_customvars": protected}})
    _ini(conf / "modules/director/config.ini", {"db": {"resource": "director_db"}})
    _ini(conf / "modules/director/kickstart.ini", {"config": {
        "endpoint": NODE, "host": "127.0.0.1", "port": str(stack.api_port), "username": "director",
        "password": API_PASSWORD}})
    enabled = conf / "enabledModules"
    enabled.mkdir()
    for module in ("monitoring", "director", "incubator", "reactbundle", "graphite"):
        (enabled / module).symlink_to(WEB_MODULES / module)
    # The graphite module as README.md sets it up: graphite-web's URL, the shipped templates.
    _ini(conf / "modules/graphite/config.ini", {"graphite": {"url": stack.graphite.url},
                                                "ui": {"default_time_range": "1",
                                                       "default_time_range_unit": "minutes"}})
    (conf / "modules/graphite/templates").mkdir()
    shutil.copy(GRAPH_TEMPLATES, conf / "modules/graphite/templates")
    return conf


def _icinga_conf(stack, pg, api):
    """Icinga 2 with the contrib files, the API the Director deploys to, and the IDO feature."""
    base = stack.base / NODE
    icinga_constants(base)
    ca = stack.base / "ca"
    icinga_pki(ca, "new-ca")
    icinga_node_certificates(ca, base, NODE)
    token_file = stack.base / "laozhang.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    zones = '''
object Endpoint NodeName { host = "127.0.0.1"; port = %d }
object Zone ZoneName { endpoints = [ NodeName ] }
object Zone "director-global" { global = true }
''' % stack.api_port
    objects = '''
include "%(command)s"
include "%(services)s"
object ApiUser "director" { password = "%(password)s"; permissions = [ "*" ] }
object CheckerComponent "checker" { }
object IdoPgsqlConnection "ido" {
  host = "127.0.0.1"; port = %(pg_port)d; user = "icinga"; password = "icinga"; database = "icinga_ido"
}
object GraphiteWriter "graphite" {
  host = "127.0.0.1"; port = %(carbon_port)d; enable_send_thresholds = true
}
object Host "llm-keys" {
  check_command = "dummy"
  vars.laozhang_balance_api_key = "%(key)s"
  vars.laozhang_balance_key_file = "/etc/icinga2/secrets/laozhang-app.key"
}
object Host "llm-gateway" {
  check_command = "dummy"
  check_interval = 2s
  vars.dummy_state = 0
  vars.laozhang_accounts["falling"] = {
    laozhang_balance_url = "%(falling_url)s"
    laozhang_balance_warning = 50
    laozhang_balance_critical = 20
    laozhang_balance_forecast_window = 1
    laozhang_balance_spend_window = 10
    laozhang_balance_state_file = "%(falling_state)s"
    laozhang_balance_token_file = "%(token_file)s"
  }
  vars.laozhang_accounts["production"] = {
    laozhang_balance_url = "%(url)s"
    laozhang_balance_warning = 20
    laozhang_balance_critical = 5
    laozhang_balance_state_file = "%(base)s/state-production.json"
    laozhang_balance_access_token = "%(token)s"
  }
  vars.laozhang_accounts["staging"] = {
    laozhang_balance_url = "%(url)s"
    laozhang_balance_warning = 50
    laozhang_balance_critical = 20
    laozhang_balance_state_file = "%(base)s/state-staging.json"
    laozhang_balance_token_file = "%(token_file)s"
  }
}
''' % {"command": CONTRIB / "icinga" / "command.conf", "services": services_every_two_seconds(base),
       "password": API_PASSWORD, "pg_port": pg.port, "url": api.url, "base": base, "token": TOKEN,
       "token_file": token_file, "carbon_port": stack.graphite.line_port, "falling_url": stack.falling.url,
       "falling_state": _forty_minutes_of_history(base, stack.falling.url), "key": KEY}
    icinga_node_main_conf(base, plugin_dir(base), zones, stack.api_port,
                          listener_options="; accept_config = true; accept_commands = true", objects=objects)
    return base, base / "main.conf", token_file


class Falling:
    """An account that spends 0.10 USD between two checks: the balance falls, the counters rise."""

    def __init__(self, quota=30000000, used_quota=10000000):
        self.quota, self.used_quota, self.requests = quota, used_quota, 300
        self.lock = threading.Lock()

    def __call__(self, handler):
        with self.lock:
            self.quota -= 50000
            self.used_quota += 50000
            self.requests += 7
            answer = Answer(body=account(quota=self.quota, used_quota=self.used_quota, request_count=self.requests))
        answer(handler)


def _forty_minutes_of_history(base, url):
    """A state file as earlier checks leave it, written by the package's own state module: a sample of forty
    minutes ago gives the first check a forecast (half the one-hour window), one of seven minutes ago a spend
    rate (half the ten-minute spend window), so every graph has data from the start."""
    from check_laozhang_balance import client, state

    path = base / "state-falling.json"
    now = time.time()
    state.update(str(path), state.owner(client.public_url(url), str(account()["data"]["id"]), ""),
                 lambda old: ([(now - 2400, 31000000, 9000000), (now - 420, 30100000, 9900000)], None))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    for program, package in (("icinga2", "icinga2"), ("icingacli", "icingacli")):
        need(program, package)
    for path, package in ((Path("/usr/share/icinga2-ido-pgsql/schema/pgsql.sql"), "icinga2-ido-pgsql"),
                          (WEB_MODULES / "director", "icingaweb2-module-director"),
                          (WEB_MODULES / "monitoring", "icingaweb2-module-monitoring")):
        if not path.exists():
            need(str(path), package, search=str(path.parent))
    stack = Stack(tmp_path_factory.mktemp("icingaweb"))
    with ExitStack() as cleanup:
        stack.fake = ApiServer()
        cleanup.callback(stack.fake.close)
        stack.fake.answer(body=account(quota=7500000))
        stack.falling = ApiServer()
        cleanup.callback(stack.falling.close)
        stack.falling.behave(Falling())
        stack.graphite = Graphite(stack.base / "graphite", retentions="5s:1d")
        cleanup.callback(stack.graphite.stop)
        stack.pg = pg = Postgres()
        cleanup.callback(pg.stop)
        _databases(pg)
        stack.conf = _icingaweb_config(stack, pg)
        stack.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ICINGAWEB_CONFIGDIR": str(stack.conf),
                     "REMOTE_USER": "admin"}
        base, main, stack.token_file = _icinga_conf(stack, pg, stack.fake)
        # The Director's services name no state file: their default one goes under XDG_STATE_HOME.
        icinga = Daemon(["icinga2", "daemon", "-c", str(main), *icinga_constants(base)], base / "icinga.log",
                        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "XDG_STATE_HOME": str(base / "state")})
        cleanup.callback(icinga.stop)
        web = Daemon(["icingacli", "web", "serve", "--listen=127.0.0.1:%d" % stack.web_port,
                      "/usr/share/icingaweb2/public"], stack.base / "web.log", env=stack.env)
        cleanup.callback(web.stop)
        stack.icinga_log = base / "icinga.log"
        wait_for(lambda: _listening(stack.web_port) and _listening(stack.api_port), 60,
                 "Icinga Web 2 and the Icinga 2 API to listen")
        yield stack


def _listening(port):
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_service_page_shows_status_perfdata_and_masks_the_token(stack):
    """(a) The monitoring module's detail pages of services.conf's services, as an administrator reads them,
    with README.md's protected_customvars: the token masked, the token file's path shown."""
    page = stack.service_page("llm-gateway", "laozhang-balance production", "LAOZHANG_BALANCE WARNING")
    (stack.base / "service-page.html").write_text(page)
    assert ('<div class="plugin-output preformatted">LAOZHANG_BALANCE WARNING - 15.00 USD left (account demo_user), '
            'below the warning threshold of 20 USD</div>') in page
    rows = {label: (warn, crit) for label, warn, crit in re.findall(
        r'<tr><td class="sparkline-col"><span title="(\w+)">\w+</span></td><td><span title="[^"]*">[^<]*</span></td>'
        r'<td><span title="([^"]*)">[^<]*</span></td><td><span title="([^"]*)">', page)}
    assert rows == {"remaining_usd": ("20:", "5:"), "quota": ("10000000:", "2500000:"),
                    "used_quota": ("-", "-"), "request_count": ("-", "-")}, rows
    assert "invalid perfdata" not in page.lower()
    assert "<th>laozhang_balance_access_token</th><td>***</td>" in page
    assert TOKEN not in page
    staging = stack.service_page("llm-gateway", "laozhang-balance staging", "LAOZHANG_BALANCE CRITICAL")
    assert "<th>laozhang_balance_token_file</th><td>%s</td>" % stack.token_file in staging
    host = stack.page("monitoring/host/show", host="llm-gateway")
    assert '<tr class="level-2"><th>laozhang_balance_access_token</th><td>***</td>' in host
    assert TOKEN not in host and TOKEN not in staging
    # key mode's secret likewise, its key file's path in clear
    keys = stack.page("monitoring/host/show", host="llm-keys")
    assert "<th>laozhang_balance_api_key</th><td>***</td>" in keys and KEY not in keys
    assert "<th>laozhang_balance_key_file</th><td>/etc/icinga2/secrets/laozhang-app.key</td>" in keys


GRAPHED = ("llm-gateway", "laozhang-balance falling")
# GraphiteWriter's default service_name_template, with '.' and ' ' of the names written as '_'
GRAPHED_PREFIX = "icinga2.llm-gateway.services.laozhang-balance_falling.laozhang_balance"


def _templates(kind):
    """{graph template: its section of `kind` (metrics_filters, functions)} of the shipped templates."""
    import configparser

    ini = configparser.ConfigParser(interpolation=None)
    ini.read(GRAPH_TEMPLATES)
    return {section.split(".")[0]: ini[section] for section in ini.sections() if section.endswith("." + kind)}


def _template_metrics():
    """{graph template: [metric path]} as the shipped templates name them."""
    return {name: [v.strip('"').replace("$service_name_template$", GRAPHED_PREFIX) for v in section.values()]
            for name, section in _templates("metrics_filters").items()}


def _template_colours():
    """{graph template: the colours of the series it draws}."""
    return {name: re.findall(r"'(#[0-9a-f]{6})'", " ".join(section.values()))
            for name, section in _templates("functions").items()}


def _series_pixels(png, colour):
    """How many pixels of a PNG are (nearly) `colour`, an '#rrggbb' the templates draw a series in."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, rgb in image.getcolors(image.width * image.height)
               if max(abs(a - b) for a, b in zip(rgb, want)) <= 12)


def test_graphite_stack_graphs_every_templated_metric(stack):
    """Icinga 2's GraphiteWriter -> carbon -> graphite-web -> the graphite module with the shipped templates."""
    templates = _template_metrics()
    wanted = [path for paths in templates.values() for path in paths]

    def series():
        found = {}
        for path in wanted:
            answer = requests.get(stack.graphite.url + "/render", timeout=30,
                                  params={"target": path, "format": "json", "from": "-10min"}).json()
            points = [v for v, _ in answer[0]["datapoints"] if v is not None] if answer else []
            if len(points) < 5:
                return None
            found[path] = points
        return found

    found = wait_for(series, 120, "carbon to hold five points of every metric the templates name")
    balance = found[GRAPHED_PREFIX + ".perfdata.remaining_usd.value"]
    assert balance[0] > balance[-1] and all(a >= b for a, b in zip(balance, balance[1:])), balance
    stored = set(requests.get(stack.graphite.url + "/metrics/expand", timeout=30, params={
        "query": GRAPHED_PREFIX + ".perfdata.*.*", "leavesOnly": "1"}).json()["results"])
    (stack.base / "carbon-metrics.txt").write_text("\n".join(sorted(stored)) + "\n")
    assert set(wanted) <= stored
    # GraphiteWriter sends no .warn/.crit for the check's range thresholds (README.md says why)
    assert not any(m.endswith((".warn", ".crit")) for m in stored), stored

    colours = _template_colours()
    for name, series in colours.items():
        graph = requests.get(stack.url(
            "graphite/graph/service", **{"host.name": GRAPHED[0], "service.name": GRAPHED[1],
                                         "service.check_command": "laozhang_balance", "template": name,
                                         "start": "-60", "width": "440", "height": "220"}), timeout=60)
        assert graph.status_code == 200 and graph.headers["Content-Type"] == "image/png", (name, graph.text[:500])
        (stack.base / ("%s.png" % name)).write_bytes(graph.content)
        for colour in series:
            assert _series_pixels(graph.content, colour) > 50, (name, colour)
    # the check above can fail: the module's "no data" image, the same graph over a time with no points
    empty = requests.get(stack.url(
        "graphite/graph/service", **{"host.name": GRAPHED[0], "service.name": GRAPHED[1],
                                     "service.check_command": "laozhang_balance", "template": "laozhang_balance-remaining",
                                     "start": "-86400", "end": "-43200", "width": "440", "height": "220"}), timeout=60)
    assert empty.headers["Content-Type"] == "image/png", empty.text[:500]
    (stack.base / "no-data.png").write_bytes(empty.content)
    assert _series_pixels(empty.content, colours["laozhang_balance-remaining"][0]) == 0

    screenshot = stack.base / "service-detail.png"
    browser = need("chromium", "chromium")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--user-data-dir=%s" % (stack.base / "chromium"), "--screenshot=%s" % screenshot,
                           "--window-size=1000,1500", "--virtual-time-budget=20000",
                           stack.url("monitoring/service/show", host=GRAPHED[0], service=GRAPHED[1], graphs_limit="-1")],
                          capture_output=True, text=True, timeout=180, start_new_session=True)
    assert screenshot.exists(), done.stderr[-2000:]
    shot = screenshot.read_bytes()
    for name, series in colours.items():
        for colour in series:
            assert _series_pixels(shot, colour) > 50, (name, colour, "missing in the browser's view")


def test_director_basket_deploys_services_that_icinga_checks(stack):
    """(b) The Director as its README steps run it: kickstart imports the command, the Basket brings the fields
    and templates, a host with two account names gets one service each from an apply-for rule, a third account
    is a single service with the hidden token field; deployed, Icinga runs them all."""
    stack.icingacli("director", "migration", "run")
    stack.icingacli("director", "kickstart", "run")
    stack.icingacli("director", "basket", "restore", stdin=BASKET.read_text())
    command = json.loads(stack.icingacli("director", "command", "show", "laozhang_balance", "--json"))
    imported = {(a.get("value") or a.get("set_if")).strip("$") for a in command["arguments"].values()}
    conf = (CONTRIB / "icinga" / "command.conf").read_text()
    used = set(re.findall(r"\$(laozhang_balance_\w+)\$", conf))
    secrets = set(re.findall(r'"LAOZHANG_\w+" = "\$(laozhang_balance_\w+)\$"', conf))
    # The Director 1.10 has no env for commands: kickstart brings the arguments only (README.md says so).
    assert "env" not in command and secrets and imported == used - secrets
    fields = dict(stack.director_sql(
        "SELECT df.varname, df.datatype || ' ' || COALESCE(ds.setting_value, '-') FROM icinga_service_field f"
        " JOIN director_datafield df ON df.id = f.datafield_id JOIN icinga_service s ON s.id = f.service_id"
        " LEFT JOIN director_datafield_setting ds ON ds.datafield_id = df.id AND ds.setting_name = 'visibility'"
        " WHERE s.object_name = 'laozhang-balance' AND s.object_type = 'template'"))
    assert set(fields) == used, set(fields) ^ used
    assert fields["laozhang_balance_access_token"].endswith("DataTypeString hidden")
    assert fields["laozhang_balance_api_key"].endswith("DataTypeString hidden")
    assert fields["laozhang_balance_token_file"].endswith("DataTypeString visible")
    assert fields["laozhang_balance_verbose"].endswith("DataTypeBoolean -")

    secrets = stack.base / "secrets"
    secrets.mkdir()
    for name in ("alpha", "beta"):
        (secrets / ("laozhang-%s.token" % name)).write_text(TOKEN + "\n")
    stack.icingacli("director", "host", "create", "llm-director", "--json", json.dumps({
        "imports": ["laozhang-balance-accounts"], "check_command": "dummy",
        "vars": {"dummy_state": 0, "laozhang_balance_accounts": ["alpha", "beta"],
                 "laozhang_balance_url": stack.fake.url, "laozhang_balance_warning": "20"}}))
    # README.md's apply rule, with the secrets folder of the test instead of /etc/icinga2/secrets
    stack.icingacli("director", "service", "create", "laozhang-balance $config$", "--json", json.dumps({
        "object_type": "apply", "imports": ["laozhang-balance"], "apply_for": "host.vars.laozhang_balance_accounts",
        "assign_filter": "host.vars.laozhang_balance_accounts=true",
        "vars": {"laozhang_balance_token_file": "%s/laozhang-$config$.token" % secrets}}))
    stack.icingacli("director", "service", "create", "laozhang-balance gamma", "--json", json.dumps({
        "object_type": "object", "host": "llm-director", "imports": ["laozhang-balance"],
        "vars": {"laozhang_balance_access_token": TOKEN, "laozhang_balance_warning": "10",
                 "laozhang_balance_critical": "5"}}))
    # What the Director's Preview shows: the hidden field's value in clear (README.md says so).
    assert TOKEN in stack.icingacli("director", "service", "show", "laozhang-balance gamma", "--host", "llm-director")
    stack.icingacli("director", "config", "deploy")

    def checked():
        found = {r["attrs"]["display_name"]: r["attrs"] for r in stack.icinga_api(
            "objects/services", filter='host.name=="llm-director"')}
        if len(found) == 3 and not all(a["last_check_result"] for a in found.values()):
            # a 15-minute template: ask for the first check now, as Icinga Web's "Check now" does
            stack.icinga_api_post("actions/reschedule-check", {"type": "Service", "filter": 'host.name=="llm-director"',
                                                               "force": True})
        return found if len(found) == 3 and all(a["last_check_result"] for a in found.values()) else None

    services = wait_for(checked, 120, "Icinga to run the three services the Director deployed")
    states = {name: (a["state"], a["last_check_result"]["output"].splitlines()[0].strip(), a["check_interval"])
              for name, a in services.items()}
    (stack.base / "director-services.json").write_text(json.dumps(states, indent=1))
    warning = "LAOZHANG_BALANCE WARNING - 15.00 USD left (account demo_user), below the warning threshold of 20 USD"
    assert states == {"laozhang-balance alpha": (1, warning, 900), "laozhang-balance beta": (1, warning, 900),
                      "laozhang-balance gamma": (0, "LAOZHANG_BALANCE OK - 15.00 USD left (account demo_user)", 900)}
    page = stack.service_page("llm-director", "laozhang-balance gamma", "LAOZHANG_BALANCE OK")
    assert "<th>laozhang_balance_access_token</th><td>***</td>" in page and TOKEN not in page
