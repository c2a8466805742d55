"""A real Zabbix 6.0 server as Debian 12 packages it, for the contrib test: PostgreSQL, zabbix_server and
the frontend's JSON-RPC API under PHP's built-in web server, all on 127.0.0.1, in private folders.

The recipe is the one in the project's notes on daemons in tests (Zabbix 6.0 server section).
"""

import gzip
import json
import shutil
import socket
import urllib.request
from pathlib import Path

from daemons import Daemon, Postgres, free_port_in, need, need_file, wait_for

SCHEMA = Path("/usr/share/zabbix-server-pgsql")
FRONTEND = Path("/usr/share/zabbix")
_PASSWORD = "zabbix-test-db"

_SERVER_CONF = """\
LogType=console
DBHost=127.0.0.1
DBPort={db_port}
DBName=zabbix
DBUser=zabbix
DBPassword={password}
ListenIP=127.0.0.1
ListenPort={port}
SocketDir={base}
PidFile={base}/zabbix_server.pid
AllowRoot=1
Timeout={timeout}
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartReportWriters=0
CacheUpdateFrequency=1
HousekeepingFrequency=0
UnreachableDelay=1
"""

_FRONTEND_CONF = """\
<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '127.0.0.1';
$DB['PORT'] = '{db_port}';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'zabbix';
$DB['PASSWORD'] = '{password}';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = '{port}';
$ZBX_SERVER_NAME = 'test';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
"""


class ApiError(AssertionError):
    """The API refused a call; the message is Zabbix's own."""


class ZabbixApi:
    """The frontend's JSON-RPC API, logged in as the stock Admin."""

    def __init__(self, url):
        self.url = url
        self.auth = None
        self.calls = 0

    def __call__(self, method, *listed, **params):
        """`method` with keyword parameters, or with one list (task.create takes a list)."""
        params = listed[0] if listed else params
        self.calls += 1
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": self.calls}
        if self.auth and method not in ("apiinfo.version", "user.login"):
            request["auth"] = self.auth
        http = urllib.request.Request(self.url, json.dumps(request).encode(),
                                      {"Content-Type": "application/json-rpc"})
        with urllib.request.urlopen(http, timeout=60) as answer:
            reply = json.load(answer)
        if "error" in reply:
            raise ApiError("%s: %s" % (method, reply["error"]))
        return reply["result"]

    def login(self):
        self.auth = self("user.login", username="Admin", password="zabbix")


class ZabbixServer:
    """zabbix_server with its database and API; `timeout` is the server's own Timeout for agent checks."""

    def __init__(self, base, timeout):
        self.base = Path(base)
        self.server_bin = need("zabbix_server", "zabbix-server-pgsql")
        self.php = need("php", "php8.2-cli")
        need_file(FRONTEND / "api_jsonrpc.php", "zabbix-frontend-php")
        self.daemons = []
        self.db = Postgres()
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout):
        self.db.create_database("zabbix", "zabbix", _PASSWORD)
        for part in ("schema", "images", "data"):
            sql = self.base / ("%s.sql" % part)
            with gzip.open(SCHEMA / ("%s.sql.gz" % part)) as packed:
                sql.write_bytes(packed.read())
            self.db.psql("zabbix", file=sql, user="zabbix")
            sql.unlink()
        # The stock host polls an agent on 127.0.0.1:10050, which may be anyone's.
        self.db.psql("zabbix", "UPDATE hosts SET status = 1 WHERE host = 'Zabbix server'", user="zabbix")
        self.port = free_port_in(10100, 32000)
        conf = self.base / "zabbix_server.conf"
        conf.write_text(_SERVER_CONF.format(db_port=self.db.port, password=_PASSWORD, port=self.port,
                                            base=self.base, timeout=timeout))
        self.log = self.base / "zabbix_server.log"
        self.daemons.append(Daemon([self.server_bin, "-f", "-c", str(conf)], self.log))
        wait_for(self._listening, 60, "zabbix_server to listen")

        # Debian's frontend reads its settings from a fixed path: point a private copy elsewhere.
        web = self.base / "frontend"
        shutil.copytree(FRONTEND, web, symlinks=True)
        settings = self.base / "zabbix.conf.php"
        settings.write_text(_FRONTEND_CONF.format(db_port=self.db.port, password=_PASSWORD, port=self.port))
        config_class = web / "include/classes/core/CConfigFile.php"
        config_class.write_text(config_class.read_text().replace("/etc/zabbix/zabbix.conf.php", str(settings)))
        web_port = free_port_in(10100, 32000)
        self.daemons.append(Daemon([self.php, "-S", "127.0.0.1:%d" % web_port, "-t", str(web)],
                                   self.base / "php.log"))
        self.api = ZabbixApi("http://127.0.0.1:%d/api_jsonrpc.php" % web_port)
        wait_for(self._api_answers, 60, "the Zabbix API to answer")
        self.api.login()

    def _listening(self):
        if not self.daemons[0].alive():
            raise AssertionError("zabbix_server ended: %s" % self.log.read_text()[-3000:])
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def _api_answers(self):
        try:
            return self.api("apiinfo.version")
        except OSError:
            return None

    def server_log(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.db.stop()


_AGENT_CONF = """\
LogType=console
PidFile={run}/zabbix_agentd.pid
Server=127.0.0.1
ListenIP=127.0.0.1
ListenPort={port}
Hostname={hostname}
Timeout={timeout}
Include={include}
"""


class ZabbixAgent:
    """zabbix_agentd on 127.0.0.1, started as root so that it runs as the zabbix user, as packaged.

    Everything it reads must be reachable by that user: `base` is a folder of its own (not pytest's
    mode-700 tmp_path), `include` a file of UserParameters in it.
    """

    def __init__(self, base, hostname, include, timeout):
        agent = need("zabbix_agentd", "zabbix-agent")
        run = Path(base) / "run"
        run.mkdir()
        shutil.chown(run, "zabbix", "zabbix")
        self.port = free_port_in(10100, 32000)
        conf = Path(base) / "zabbix_agentd.conf"
        conf.write_text(_AGENT_CONF.format(run=run, port=self.port, hostname=hostname, timeout=timeout,
                                           include=include))
        self.log = Path(base) / "zabbix_agentd.log"
        self.daemon = Daemon([agent, "-f", "-c", str(conf)], self.log, env={"PATH": "/usr/bin:/bin"})
        wait_for(self._listening, 30, "zabbix_agentd to listen")

    def _listening(self):
        if not self.daemon.alive():
            raise AssertionError("zabbix_agentd ended: %s" % self.log.read_text()[-3000:])
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        self.daemon.stop()
