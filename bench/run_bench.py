#!/usr/bin/env python3
"""What one check costs, against its floor and its peers, measured in one run on this machine.

Run with the interpreter the check is installed in:  .venv/bin/python bench/run_bench.py
Needs curl, jq, valgrind, GNU time and check_http (Debian: curl jq valgrind time
monitoring-plugins-basic). Prints wall-clock and CPU timings with ratios to the floor (the same
interpreter importing only nagiosplugin and requests), instruction counts (callgrind), the check's
peak memory, how many HTTP requests one check makes, which paths import requests, and whether
each target holds. The full check's 1.10x target is judged on instructions: on a shared machine
its wall-clock ratio drifts by several percent between runs, the instruction count does not.
Exits 1 if a target is missed.
"""

import argparse
import os
import shlex
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_api import SAMPLE, Answer, ApiServer  # noqa: E402  (the tests' own server)

TOKEN = "sk-bench-0000000000000000"
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
FULL_CHECK_MAX_RATIO = 1.10
OFFLINE_MAX_RATIO = 0.5
PEAK_RSS_MAX_MIB = 35
WARMUP = 3
FLOOR = "floor: import nagiosplugin, requests"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs per command (default: %(default)s)")
    args = parser.parse_args()
    check = shutil.which("check_laozhang_balance", path=os.path.dirname(sys.executable))
    missing = [tool for tool in ("curl", "jq", "valgrind", CHECK_HTTP, "/usr/bin/time") if not shutil.which(tool)]
    if not check or missing:
        sys.exit("missing: %s" % ", ".join((["check_laozhang_balance next to " + sys.executable] if not check else [])
                                           + missing))
    os.environ["LAOZHANG_ACCESS_TOKEN"] = TOKEN
    api = ApiServer()
    balance, status = Answer(), Answer(body={"success": True, "data": {"quota_per_unit": 500000}})
    api.behave(lambda handler: (status if handler.path.startswith("/api/status") else balance)(handler))
    try:
        report(check, api, args.runs)
    finally:
        api.close()


def report(check, api, runs):
    python = sys.executable
    offline = {
        "no network: --response-file": [check, "--response-file", str(SAMPLE)],
        "no network: --help": [check, "--help"],
        "no network: --version": [check, "--version"],
        "no network: usage error": [check, "-w", "abc"],
    }
    commands = {
        FLOOR: [python, "-c", "import nagiosplugin, requests"],
        "full check (HTTP, gzip)": [check, "--url", api.url, "-w", "20", "-c", "5"],
        **offline,
        "peer: check_http": [CHECK_HTTP, "-H", "127.0.0.1", "-p", str(api.port), "-u", "/api/user/self",
                             "-k", "Authorization: " + TOKEN, "-k", "Accept-Encoding: gzip"],
        "peer: curl --compressed | jq": ["bash", "-c", "curl --compressed -s -H 'Authorization: %s' %s | jq .data.quota"
                                        % (TOKEN, shlex.quote(api.url))],
    }
    timings = timed(commands, runs)
    print("%d interleaved rounds after %d warm-up rounds; wall clock; CPU is user+system; 'x floor' is the median"
          " over rounds of the command's time over the floor's in the same round" % (runs, WARMUP))
    print("\n%-38s %10s %10s %8s %8s" % ("command", "median ms", "mean ms", "CPU ms", "x floor"))
    for name, t in timings.items():
        print("%-38s %10.1f %10.1f %8.1f %8.2f" % (
            name, t["median"] * 1000, t["mean"] * 1000, t["cpu"] * 1000, t["ratio"]))

    counted = {name: instructions(commands[name]) for name in (FLOOR, "full check (HTTP, gzip)", *offline)}
    print("\nCPU instructions (valgrind callgrind, one run each; repeatable where wall clock drifts):")
    for name, count in counted.items():
        print("%-38s %12.1f M %8.3f x floor" % (name, count / 1e6, count / counted[FLOOR]))

    rss = max(peak_rss_mib(commands["full check (HTTP, gzip)"]) for _ in range(5))
    requests_made = count_requests(api, commands["full check (HTTP, gzip)"])
    requests_auto = count_requests(api, commands["full check (HTTP, gzip)"] + ["--quota-per-unit", "auto"])
    importing = {name: imports(python, argv) for name, argv in commands.items() if name in offline}
    importing["full check (HTTP, gzip)"] = imports(python, commands["full check (HTTP, gzip)"])

    print("\npeak resident memory of the full check (GNU time %%M, max of 5): %.1f MiB" % rss)
    print("HTTP requests made by one full check: %d; with --quota-per-unit auto: %d" % (requests_made, requests_auto))
    for name, modules in importing.items():
        print("%-38s imports requests: %-3s  pkg_resources: %s" % (
            name, "yes" if "requests" in modules else "no", "yes" if "pkg_resources" in modules else "no"))

    targets = [
        ("full check <= %.2fx floor in instructions" % FULL_CHECK_MAX_RATIO,
         counted["full check (HTTP, gzip)"] <= FULL_CHECK_MAX_RATIO * counted[FLOOR]),
        *(("%s <= %.1fx floor in wall time and in instructions, without requests" % (name, OFFLINE_MAX_RATIO),
           timings[name]["ratio"] <= OFFLINE_MAX_RATIO and counted[name] <= OFFLINE_MAX_RATIO * counted[FLOOR]
           and "requests" not in importing[name])
          for name in offline),
        ("peak RSS <= %d MiB" % PEAK_RSS_MAX_MIB, rss <= PEAK_RSS_MAX_MIB),
        ("exactly one HTTP request, two with --quota-per-unit auto", (requests_made, requests_auto) == (1, 2)),
        ("no pkg_resources at start-up", not any("pkg_resources" in m for m in importing.values())),
    ]
    print("\ntargets:")
    for text, held in targets:
        print("  %-4s %s" % ("met" if held else "MISS", text))
    if not all(held for _, held in targets):
        sys.exit(1)


def timed(commands, runs):
    """{name: {'median': s, 'mean': s, 'cpu': s, 'ratio': x}}, the commands interleaved in shuffled rounds.

    Interleaving, rather than hyperfine's one command after another, spreads the drift of a shared
    machine over every command alike; 'ratio' is the median over rounds of each command's time over
    the floor's time in the same round, which cancels what drift is left.
    """
    wall = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    order = list(commands)
    for round_number in range(WARMUP + runs):
        random.shuffle(order)
        for name in order:
            started = time.perf_counter()
            proc = subprocess.Popen(commands[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, _, usage = os.wait4(proc.pid, 0)
            if round_number >= WARMUP:
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(usage.ru_utime + usage.ru_stime)
    return {name: {"median": statistics.median(wall[name]), "mean": statistics.mean(wall[name]),
                   "cpu": statistics.median(cpu[name]),
                   "ratio": statistics.median(t / f for t, f in zip(wall[name], wall[FLOOR]))}
            for name in commands}


def count_requests(api, command):
    before = len(api.seen)
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    return len(api.seen) - before


def instructions(command):
    """Instructions the command executes in user space, counted by callgrind: the same every run."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                          capture_output=True, text=True, check=False)
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def peak_rss_mib(command):
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *command], capture_output=True, check=False)
        return int(out.read().split()[-1]) / 1024


def imports(python, command):
    """Top-level names of the modules a command imports (python -X importtime on the script)."""
    proc = subprocess.run([python, "-X", "importtime", *command], capture_output=True, text=True, check=False)
    return {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


if __name__ == "__main__":
    main()
