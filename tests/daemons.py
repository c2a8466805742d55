"""Real monitoring daemons for the contrib tests, each in a private folder, ended with its process group.

Facts behind the settings are in the project's notes on running the daemons inside tests
(Icinga 2 constants for every path, RunAs root, a PerfdataWriter to read results back).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"


def need(program, package, search="/usr/sbin:/usr/bin:/sbin:/bin"):
    """The path of `program`; skip without it, except in CI (CI=true), where .ci/run installs it."""
    path = shutil.which(program, path=search)
    if not path:
        _missing(program, package)
    return path


def need_file(path, package):
    """`path` (a file that need not be executable, e.g. PHP); skip or fail like need()."""
    if not os.path.isfile(path):
        _missing(path, package)
    return path


def _missing(what, package):
    if os.environ.get("CI"):
        pytest.fail("%s is missing in CI: .ci/run should have installed %s" % (what, package))
    pytest.skip("%s is not installed (Debian package %s, see .ci/run)" % (what, package))


def icinga_constants(base, user="root"):
    """-D options that keep an Icinga 2 instance entirely inside `base`, running as `user`."""
    base = Path(base)
    for sub in ("data", "cache", "run/icinga2", "log", "spool", "zones.d"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    paths = {
        "DataDir": base / "data", "CacheDir": base / "cache", "InitRunDir": base / "run", "LogDir": base / "log",
        "SpoolDir": base / "spool", "StatePath": base / "data/icinga2.state", "ObjectsPath": base / "cache/objects",
        "VarsPath": base / "cache/vars", "ZonesDir": base / "zones.d",
    }
    return ["-DConfiguration.%s=%s" % (k, v) for k, v in paths.items()] + [
        "-DConfiguration.RunAsUser=%s" % user, "-DConfiguration.RunAsGroup=%s" % user]


def icinga_pki(base, *args):
    """`icinga2 pki` with the CA's and certificates' folders inside `base`."""
    done = subprocess.run(["icinga2", "pki", *args, *icinga_constants(base)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def icinga_node_certificates(ca_base, node_base, name):
    """NAME.key, NAME.crt signed by the CA in `ca_base`, and ca.crt, where the node in `node_base` looks for them."""
    certs = Path(node_base) / "data" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    icinga_pki(ca_base, "new-cert", "--cn", name, "--key", str(certs / (name + ".key")), "--csr",
               str(certs / (name + ".csr")))
    icinga_pki(ca_base, "sign-csr", "--csr", str(certs / (name + ".csr")), "--cert", str(certs / (name + ".crt")))
    shutil.copy(Path(ca_base) / "data" / "ca" / "ca.crt", certs / "ca.crt")


def icinga_node_main_conf(base, plugin_contrib_dir, zones, port, listener_options="", objects=""):
    """One node's main.conf; the node and its zone are named after its directory."""
    (base / "main.conf").write_text('''
const NodeName = "%s"
const ZoneName = "%s"
const PluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "%s"
include <itl>
include <plugins>
%s
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = %d%s }
%s
''' % (base.name, base.name, plugin_contrib_dir, zones, port, listener_options, objects))


def icinga_validate(main_conf, base):
    return subprocess.run(["icinga2", "daemon", "-C", "-c", str(main_conf), *icinga_constants(base)],
                          capture_output=True, text=True, timeout=120)


class Daemon:
    """A daemon in the foreground, in its own session so that its children end with it."""

    def __init__(self, argv, log, env=None):
        self.log = open(log, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=env)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def wait_for(probe, timeout, what):
    """probe() until it returns something true; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("gave up after %d s waiting for %s" % (timeout, what))


def free_port_in(low, high):
    """A free TCP port on 127.0.0.1 in [low, high]: Zabbix, for one, accepts ports up to 32767 only."""
    import random
    import socket

    for port in random.sample(range(low, high + 1), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port between %d and %d" % (low, high))


class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1, run as the postgres user (it refuses root).

    pytest's tmp_path is mode 0700 and the postgres user cannot enter it,
    so the cluster lives in a folder of its own under /tmp, removed on stop.
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self):
        import tempfile

        need(str(self.BIN / "postgres"), "postgresql", search=str(self.BIN))
        self.base = Path(tempfile.mkdtemp(prefix="pg-"))
        os.chmod(self.base, 0o755)
        shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        self.port = free_port_in(20000, 32000)
        self._as_postgres([str(self.BIN / "initdb"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                           "--locale=C.UTF-8", "-D", str(self.data)])
        self.daemon = Daemon(["runuser", "-u", "postgres", "--", str(self.BIN / "postgres"), "-D", str(self.data),
                              "-c", "listen_addresses=127.0.0.1", "-p", str(self.port), "-k", str(self.base),
                              "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                             self.base / "postgres.log")
        wait_for(self._ready, 60, "PostgreSQL to accept connections")

    def _ready(self):
        if not self.daemon.alive():
            raise AssertionError("PostgreSQL ended: %s" % (self.base / "postgres.log").read_text()[-2000:])
        return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0

    def _as_postgres(self, argv, **kwargs):
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True,
                              text=True, cwd=str(self.base), timeout=300, **kwargs)

    def psql(self, database, sql=None, file=None, user="postgres"):
        """Run SQL (a string, or a file's contents on stdin) in `database`; stop on the first error."""
        argv = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", user, "-d", database]
        if sql is not None:
            argv += ["-c", sql]
        stdin = open(file, "rb") if file else None
        try:
            return subprocess.run(argv, check=True, capture_output=True, stdin=stdin, timeout=300)
        finally:
            if stdin:
                stdin.close()

    def create_database(self, name, owner, password, extensions=()):
        """A role `owner` with `password` owning a new database `name`, with `extensions` created."""
        self.psql("postgres", "CREATE ROLE %s LOGIN PASSWORD '%s'" % (owner, password))
        self.psql("postgres", "CREATE DATABASE %s OWNER %s ENCODING 'UTF8' TEMPLATE template0" % (name, owner))
        for extension in extensions:
            self.psql(name, "CREATE EXTENSION IF NOT EXISTS %s" % extension)

    def stop(self):
        self.daemon.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# Where the Debian package puts the CheckCommand; Debian's stock icinga2.conf
# includes <plugins-contrib>, which reads every file in this folder.
PACKAGED_CHECKCOMMAND = Path("/usr/share/icinga2/include/plugins-contrib.d/laozhang-balance.conf")


def checkcommand_include():
    """For a configuration with `include <plugins-contrib>`: contrib's CheckCommand as an include line, or
    nothing where the package already put it there (a second definition is an error, on a real host too)."""
    if PACKAGED_CHECKCOMMAND.exists():
        return ""
    return 'include "%s"' % (CONTRIB / "icinga" / "command.conf")


def can_run(user, script):
    """Whether `user` can run `script` (and reach its interpreter)."""
    try:
        return subprocess.run(["runuser", "-u", user, "--", script, "--version"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def check_user(script):
    """Who the daemons run the check as: 'nagios', as Debian's Nagios 4 and Icinga 2 do, wherever that
    user can run `script` (the package, a venv under /opt); else root (a venv in root's 0700 home).

    The packaged check (CHECK_LAOZHANG_BALANCE set) must work for nagios: not being able to is a failure.
    """
    if can_run("nagios", script):
        return "nagios"
    from conftest import SCRIPT_VARIABLE

    if os.environ.get(SCRIPT_VARIABLE):
        pytest.fail("the nagios user cannot run %s" % script)
    return "root"


class DaemonHome:
    """The folder a monitoring daemon keeps everything in, for the user the check runs as.

    Root's is pytest's tmp_path; another user cannot enter that (mode 0700), so
    it gets a folder of its own under /tmp, which `hand_over()` gives it once
    the test has written its files, and `remove()` deletes.
    """

    def __init__(self, tmp_path, user):
        import tempfile

        self.user = user
        self.separate = user != "root"
        self.path = Path(tempfile.mkdtemp(prefix="monitoring-")) if self.separate else Path(tmp_path)
        self.path.chmod(0o755)

    def hand_over(self):
        """Everything in the folder now belongs to the user (configuration, token file, spool folders)."""
        for path in [self.path, *self.path.rglob("*")]:
            shutil.chown(path, self.user, self.user)

    def remove(self):
        if self.separate:
            shutil.rmtree(self.path, ignore_errors=True)

def _get_json(url):
    """The decoded JSON at `url`, or None while the daemon does not answer yet."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


class NodeExporter:
    """prometheus-node-exporter on 127.0.0.1 with only the textfile collector, reading `directory`."""

    def __init__(self, directory, base):
        program = need("prometheus-node-exporter", "prometheus-node-exporter")
        self.port = free_port_in(20000, 32000)
        self.daemon = Daemon([program, "--web.listen-address=127.0.0.1:%d" % self.port, "--collector.disable-defaults",
                              "--collector.textfile", "--collector.textfile.directory=%s" % directory],
                             Path(base) / "node-exporter.log")
        wait_for(self._ready, 30, "node_exporter to answer")

    def _ready(self):
        import urllib.request

        if not self.daemon.alive():
            raise AssertionError("node_exporter ended: %s" % self.daemon.log.name)
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as answer:
                return b"node_textfile_scrape_error" in answer.read()
        except OSError:
            return False

    def stop(self):
        self.daemon.stop()


class Prometheus:
    """A Prometheus server on 127.0.0.1 scraping `targets` every second and evaluating `rules` every second."""

    def __init__(self, base, rules, targets):
        import json

        program = need("prometheus", "prometheus")
        base = Path(base)
        self.port = free_port_in(20000, 32000)
        config = base / "prometheus.yml"
        # JSON is YAML: no quoting questions for the paths.
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": "node", "static_configs": [{"targets": list(targets)}]}]}))
        self.url = "http://127.0.0.1:%d" % self.port
        self.daemon = Daemon([program, "--config.file=%s" % config, "--storage.tsdb.path=%s" % (base / "tsdb"),
                              "--web.listen-address=127.0.0.1:%d" % self.port], base / "prometheus.log")
        wait_for(self._ready, 60, "Prometheus to be ready")

    def _ready(self):
        if not self.daemon.alive():
            raise AssertionError("Prometheus ended: %s" % Path(self.daemon.log.name).read_text()[-2000:])
        return _get_json(self.url + "/api/v1/status/runtimeinfo")

    def query(self, expr):
        """The instant vector of `expr` as [(labels, value)], through /api/v1/query."""
        from urllib.parse import quote

        answer = _get_json("%s/api/v1/query?query=%s" % (self.url, quote(expr)))
        assert answer and answer["status"] == "success", answer
        return [(item["metric"], float(item["value"][1])) for item in answer["data"]["result"]]

    def alerts(self):
        """The pending and firing alerts, through /api/v1/alerts."""
        answer = _get_json(self.url + "/api/v1/alerts")
        assert answer and answer["status"] == "success", answer
        return answer["data"]["alerts"]

    def stop(self):
        self.daemon.stop()


class Graphite:
    """carbon-cache and graphite-web (under gunicorn) in a private folder, on free ports of 127.0.0.1.

    `retentions` is carbon's storage schema for the metrics under `icinga2.`; Graphite keeps one
    point per step, so the step should not exceed the interval of what it stores.
    """

    def __init__(self, base, retentions="1s:1d"):
        for program, package in (("carbon-cache", "graphite-carbon"), ("gunicorn", "gunicorn"),
                                 ("graphite-manage", "graphite-web")):
            need(program, package)
        self.base = Path(base)
        self.whisper = self.base / "whisper"
        for sub in ("conf", "log", "run", "web", "whisper"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.line_port, self.pickle_port, self.query_port, self.web_port = (free_port_in(20000, 60000)
                                                                           for _ in range(4))
        (self.base / "conf/carbon.conf").write_text("""[cache]
STORAGE_DIR = %(base)s
LOCAL_DATA_DIR = %(whisper)s/
CONF_DIR = %(base)s/conf/
LOG_DIR = %(base)s/log/
PID_DIR = %(base)s/run/
DATABASE = whisper
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 500
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %(line)d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %(pickle)d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %(query)d
LOG_LISTENER_CONN_SUCCESS = False
""" % {"base": self.base, "whisper": self.whisper, "line": self.line_port, "pickle": self.pickle_port,
       "query": self.query_port})
        (self.base / "conf/storage-schemas.conf").write_text(
            "[icinga2]\npattern = ^icinga2\\.\nretentions = %s\n\n[default]\npattern = .*\nretentions = 60s:1d\n"
            % retentions)
        # graphite-web reads its settings from the module named by GRAPHITE_SETTINGS_MODULE.
        (self.base / "web/laozhang_graphite_settings.py").write_text(
            "SECRET_KEY = 'test-only'\nALLOWED_HOSTS = ['*']\nSTORAGE_DIR = %r\nWHISPER_DIR = %r\nLOG_DIR = %r\n"
            "INDEX_FILE = %r\nCARBONLINK_HOSTS = ['127.0.0.1:%d']\nDATABASES = {'default': {'ENGINE': "
            "'django.db.backends.sqlite3', 'NAME': %r}}\n"
            % (str(self.base), str(self.whisper) + "/", str(self.base / "log"), str(self.base / "index"),
               self.query_port, str(self.base / "graphite.db")))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(self.base / "web"),
               "GRAPHITE_SETTINGS_MODULE": "laozhang_graphite_settings", "DJANGO_SETTINGS_MODULE": "graphite.settings"}
        subprocess.run(["graphite-manage", "migrate", "--noinput"], env=env, check=True, capture_output=True,
                       timeout=300)
        self.carbon = Daemon(["carbon-cache", "--config=%s" % (self.base / "conf/carbon.conf"), "--nodaemon",
                              "--pidfile=%s" % (self.base / "run/carbon.pid"), "start"], self.base / "carbon.log")
        self.web = Daemon(["gunicorn", "--bind", "127.0.0.1:%d" % self.web_port, "--workers", "1",
                           "--chdir", str(self.base / "web"), "graphite.wsgi:application"],
                          self.base / "gunicorn.log", env=env)
        self.url = "http://127.0.0.1:%d" % self.web_port
        wait_for(self._ready, 60, "carbon-cache and graphite-web to listen")

    def _ready(self):
        import socket

        for daemon, log in ((self.carbon, "carbon.log"), (self.web, "gunicorn.log")):
            if not daemon.alive():
                raise AssertionError("%s ended: %s" % (log, (self.base / log).read_text()[-2000:]))
        for port in (self.line_port, self.web_port):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    return False
        return True

    def stop(self):
        self.web.stop()
        self.carbon.stop()
