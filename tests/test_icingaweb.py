"""contrib/icinga/ as Icinga Web 2 and the Director show and deploy it, proven by one real stack per session:
PostgreSQL (IDO, Icinga Web and Director databases), Icinga 2 with the API and the IDO, Icinga Web 2
served by icingacli with external authentication."""

import json
import re
import subprocess
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from conftest import TOKEN, free_port
from daemons import (CONTRIB, Daemon, Postgres, icinga_constants, icinga_node_certificates, icinga_node_main_conf,
                     icinga_pki, need, wait_for)
from fake_api import ApiServer, account
from test_icinga import plugin_dir, services_every_two_seconds

NODE = "icingaweb-test"
API_PASSWORD = "director-api-secret"
BASKET = CONTRIB / "icinga" / "director-basket.json"
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
    for module in ("monitoring", "director", "incubator", "reactbundle"):
        (enabled / module).symlink_to(WEB_MODULES / module)
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
object Host "llm-gateway" {
  check_command = "dummy"
  vars.dummy_state = 0
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
       "token_file": token_file}
    icinga_node_main_conf(base, plugin_dir(base), zones, stack.api_port,
                          listener_options="; accept_config = true; accept_commands = true", objects=objects)
    return base, base / "main.conf", token_file


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
        stack.pg = pg = Postgres()
        cleanup.callback(pg.stop)
        _databases(pg)
        stack.conf = _icingaweb_config(stack, pg)
        stack.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ICINGAWEB_CONFIGDIR": str(stack.conf),
                     "REMOTE_USER": "admin"}
        base, main, stack.token_file = _icinga_conf(stack, pg, stack.fake)
        icinga = Daemon(["icinga2", "daemon", "-c", str(main), *icinga_constants(base)], base / "icinga.log")
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


def test_director_basket_deploys_services_that_icinga_checks(stack):
    """(b) The Director as its README steps run it: kickstart imports the command, the Basket brings the fields
    and templates, a host with two account names gets one service each from an apply-for rule, a third account
    is a single service with the hidden token field; deployed, Icinga runs them all."""
    stack.icingacli("director", "migration", "run")
    stack.icingacli("director", "kickstart", "run")
    stack.icingacli("director", "basket", "restore", stdin=BASKET.read_text())
    command = json.loads(stack.icingacli("director", "command", "show", "laozhang_balance", "--json"))
    imported = {(a.get("value") or a.get("set_if")).strip("$") for a in command["arguments"].values()}
    used = set(re.findall(r"\$(laozhang_balance_\w+)\$", (CONTRIB / "icinga" / "command.conf").read_text()))
    # The Director 1.10 has no env for commands: kickstart brings the arguments only (README.md says so).
    assert "env" not in command and imported == used - {"laozhang_balance_access_token"}
    fields = dict(stack.director_sql(
        "SELECT df.varname, df.datatype || ' ' || COALESCE(ds.setting_value, '-') FROM icinga_service_field f"
        " JOIN director_datafield df ON df.id = f.datafield_id JOIN icinga_service s ON s.id = f.service_id"
        " LEFT JOIN director_datafield_setting ds ON ds.datafield_id = df.id AND ds.setting_name = 'visibility'"
        " WHERE s.object_name = 'laozhang-balance' AND s.object_type = 'template'"))
    assert set(fields) == used, set(fields) ^ used
    assert fields["laozhang_balance_access_token"].endswith("DataTypeString hidden")
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
