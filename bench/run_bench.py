#!/usr/bin/env python3
"""What one check costs, against its floor and its peers, measured in one run on this machine.

Run with the interpreter the check is installed in:  .venv/bin/python bench/run_bench.py
Needs curl, jq, openssl, valgrind, GNU time, check_http and check_curl (Debian: curl jq openssl
valgrind time monitoring-plugins-basic monitoring-plugins-standard) and trustme (the test extra).

The default case is the one production runs: HTTPS to a loopback server whose certificate comes
from a test CA, verified against the trust store the check uses by default. That CA is added to a
private copy of the system's hashed CA directory (/etc/ssl/certs, as update-ca-certificates would
add it) named by SSL_CERT_DIR, the variable OpenSSL reads; every other trust variable is unset.
Beside it: the same with --ca-file, plain HTTP to loopback, the paths that need no network, the
floor (the same interpreter importing only nagiosplugin and requests) and the peers.

Prints interleaved wall-clock ratios to the floor, instruction counts (callgrind, which a loaded
machine does not change), peak memory, request counts, the trust store the check reported, and
whether each target holds on BOTH instructions and the median wall ratio. Exits 1 if one is missed.
"""

import argparse
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_api import SAMPLE, Answer, ApiServer  # noqa: E402  (the tests' own server)
from trust_store import bundle, hashed_dir, https_api, new_ca, trust_env  # noqa: E402

TOKEN = "sk-bench-0000000000000000"
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
CHECK_CURL = "/usr/lib/nagios/plugins/check_curl"
WARMUP = 3
FLOOR = "floor: import nagiosplugin, requests"
HTTPS = "full check, HTTPS, default trust store"
CA_FILE = "full check, HTTPS, --ca-file"
HTTP = "full check, plain HTTP to loopback"
OFFLINE = ("no network: --response-file", "no network: --help", "no network: --version")
USAGE = "no network: usage error"
# The most each may cost, as a multiple of the floor, in instructions and in median wall time.
TARGETS = {HTTPS: 1.00, HTTP: 0.95, **{name: 0.35 for name in OFFLINE}}
PEAK_RSS_MAX_MIB = 35


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed rounds (default: %(default)s)")
    args = parser.parse_args()
    check = shutil.which("check_laozhang_balance", path=os.path.dirname(sys.executable))
    missing = [tool for tool in ("curl", "jq", "openssl", "valgrind", CHECK_HTTP, CHECK_CURL, "/usr/bin/time")
               if not shutil.which(tool)]
    if not check or missing:
        sys.exit("missing: %s" % ", ".join((["check_laozhang_balance next to " + sys.executable] if not check else [])
                                           + missing))
    with tempfile.TemporaryDirectory(prefix="laozhang-bench-") as work:
        work = Path(work)
        ca = new_ca()
        ca_file = work / "test-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        stores = {"dir": hashed_dir(ca, work / "certs"), "bundle": bundle(ca, work / "ca-certificates.crt")}
        http, https = ApiServer(), https_api(ca)
        for api in (http, https):
            answer, status = Answer(), Answer(body={"success": True, "data": {"quota_per_unit": 500000}})
            api.behave(lambda h, a=answer, s=status: (s if h.path.startswith("/api/status") else a)(h))
        try:
            report(check, http, https, ca_file, stores, work, args.runs)
        finally:
            http.close()
            https.close()


def report(check, http, https, ca_file, stores, work, runs):
    # The check's environment as a monitoring daemon gives it: the token, a
    # private state directory, and no trust settings but the one under test.
    base = dict(os.environ, LAOZHANG_ACCESS_TOKEN=TOKEN, XDG_STATE_HOME=str(work / "state"), **trust_env())
    default_trust = dict(base, SSL_CERT_DIR=str(stores["dir"]))
    # -t 60: callgrind runs the check some fifty times slower than it runs.
    thresholds = ["-t", "60", "-w", "20", "-c", "5"]
    commands = {
        FLOOR: ([sys.executable, "-c", "import nagiosplugin, requests"], base),
        HTTPS: ([check, "--url", https.url, *thresholds], default_trust),
        CA_FILE: ([check, "--url", https.url, "--ca-file", str(ca_file), *thresholds], base),
        HTTP: ([check, "--url", http.url, *thresholds], base),
        OFFLINE[0]: ([check, "--response-file", str(SAMPLE), *thresholds], base),
        OFFLINE[1]: ([check, "--help"], base),
        OFFLINE[2]: ([check, "--version"], base),
        USAGE: ([check, "-w", "abc"], base),
        "peer: check_http -S (does not verify)": (
            [CHECK_HTTP, "-S", "-H", "127.0.0.1", "-p", str(https.port), "-u", "/api/user/self",
             "-k", "Authorization: " + TOKEN, "-k", "Accept-Encoding: gzip"], base),
        "peer: check_curl -S, verifying": (
            [CHECK_CURL, "-S", "-D", "--ca-cert", str(stores["bundle"]), "-H", "127.0.0.1", "-p", str(https.port),
             "-u", "/api/user/self", "-k", "Authorization: " + TOKEN], base),
        "peer: curl --compressed | jq, verifying": (
            ["bash", "-c", "curl --compressed -sf --cacert %s -H 'Authorization: %s' %s | jq .data.quota"
             % (shlex.quote(str(stores["bundle"])), TOKEN, shlex.quote(https.url))], base),
    }
    for name, (argv, env) in commands.items():
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != (3 if name == USAGE else 0):
            sys.exit("%s exits %d, so timing it would measure a failure:\n%s" % (name, proc.returncode, proc.stdout))

    load_before = os.getloadavg()
    timings = timed(commands, runs)
    load_after = os.getloadavg()
    print("%d interleaved rounds in shuffled order after %d warm-up rounds. 'x floor' is the median over rounds of"
          " the command's wall time over the floor's in the same round; p10-p90 their spread." % (runs, WARMUP))
    print("load average (1, 5, 15 min) before the timed rounds %.2f %.2f %.2f, after %.2f %.2f %.2f, on %d CPUs"
          % (*load_before, *load_after, os.cpu_count()))
    print("\n%-42s %9s %8s %8s %13s" % ("command", "median ms", "CPU ms", "x floor", "p10-p90"))
    for name, t in timings.items():
        print("%-42s %9.1f %8.1f %8.2f %6.2f-%-6.2f" % (
            name, t["median"] * 1000, t["cpu"] * 1000, t["ratio"], t["p10"], t["p90"]))

    counted = {name: instructions(*commands[name]) for name in commands if not name.startswith("peer: curl")}
    print("\nInstructions (valgrind callgrind, one run each, user space, PYTHONHASHSEED=0):")
    for name, count in counted.items():
        print("%-42s %9.1f M %8.3f x floor" % (name, count / 1e6, count / counted[FLOOR]))

    rss = {name: max(peak_rss_mib(*commands[name]) for _ in range(5)) for name in (HTTPS, CA_FILE, HTTP)}
    made = {name: count_requests(api, *commands[name]) for name, api in ((HTTPS, https), (HTTP, http))}
    auto = {name: count_requests(api, commands[name][0] + ["--quota-per-unit", "auto"], commands[name][1])
            for name, api in ((HTTPS, https), (HTTP, http))}
    store = trust_line(*commands[HTTPS])
    importing = {name: imports(*commands[name]) for name in (*OFFLINE, USAGE, HTTPS)}

    print("\npeak resident memory (GNU time %M, max of 5): " + ", ".join("%s %.1f MiB" % (n, r) for n, r in rss.items()))
    for name in made:
        print("HTTP requests per check, %s: %d; with --quota-per-unit auto: %d" % (name, made[name], auto[name]))
    print("trust store of the default HTTPS case (its -v line): %s" % store)
    for name, modules in importing.items():
        print("%-42s imports requests: %-3s  pkg_resources: %s" % (
            name, "yes" if "requests" in modules else "no", "yes" if "pkg_resources" in modules else "no"))

    targets = [("%s <= %.2fx floor: instructions %.3f, median wall %.2f" % (
                name, limit, counted[name] / counted[FLOOR], timings[name]["ratio"]),
                counted[name] <= limit * counted[FLOOR] and timings[name]["ratio"] <= limit)
               for name, limit in TARGETS.items()]
    targets += [
        ("the default HTTPS case verified against the SSL_CERT_DIR store", str(stores["dir"]) in store),
        ("peak RSS <= %d MiB" % PEAK_RSS_MAX_MIB, max(rss.values()) <= PEAK_RSS_MAX_MIB),
        ("one HTTP request per check, two with --quota-per-unit auto",
         all((made[n], auto[n]) == (1, 2) for n in made)),
        ("paths without network import no requests", not any("requests" in importing[n] for n in (*OFFLINE, USAGE))),
        ("no pkg_resources at start-up", not any("pkg_resources" in m for m in importing.values())),
    ]
    print("\ntargets:")
    for text, held in targets:
        print("  %-4s %s" % ("met" if held else "MISS", text))
    if not all(held for _, held in targets):
        sys.exit(1)


def timed(commands, runs):
    """{name: {'median', 'cpu', 'ratio', 'p10', 'p90'}}, the commands interleaved in shuffled rounds.

    Interleaving, rather than one command's runs after another's, spreads the drift of a shared
    machine over every command alike; 'ratio' is the median over rounds of each command's time over
    the floor's in the same round, which cancels what drift is left.
    """
    wall = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    order = list(commands)
    for round_number in range(WARMUP + runs):
        random.shuffle(order)
        for name in order:
            argv, env = commands[name]
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, _, usage = os.wait4(proc.pid, 0)
            if round_number >= WARMUP:
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(usage.ru_utime + usage.ru_stime)
    result = {}
    for name in commands:
        ratios = sorted(t / f for t, f in zip(wall[name], wall[FLOOR]))
        deciles = statistics.quantiles(ratios, n=10)
        result[name] = {"median": statistics.median(wall[name]), "cpu": statistics.median(cpu[name]),
                        "ratio": statistics.median(ratios), "p10": deciles[0], "p90": deciles[-1]}
    return result


def count_requests(api, argv, env):
    before = len(api.seen)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout
    return len(api.seen) - before


def trust_line(argv, env):
    """The line of the check's -v output that names the CA store it verified against."""
    proc = subprocess.run(argv + ["-v"], capture_output=True, text=True, env=env, check=False)
    return next((line for line in proc.stdout.splitlines() if line.startswith("TLS:")), "(none reported)")


def instructions(argv, env):
    """Instructions the command executes in user space, counted by callgrind: the same every run.

    With one hash seed for all: a random one moves a Python process's count by up to 2%.
    """
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                          capture_output=True, text=True, env=dict(env, PYTHONHASHSEED="0"), check=False)
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def peak_rss_mib(argv, env):
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], capture_output=True, env=env, check=False)
        return int(out.read().split()[-1]) / 1024


def imports(argv, env):
    """Top-level names of the modules a command imports (python -X importtime on the script)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, env=env,
                          check=False)
    return {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


if __name__ == "__main__":
    main()
