"""What a Zabbix server shows of one host after each step of a test, read back through its API.

Each step asks for a check now and again until the items, triggers and open problems are as the step
expects; the timeline of what was seen is kept for the test's output and its failure messages.
"""

import re
import time

from daemons import wait_for


def matches(want, text):
    """`want` is the exact text or a compiled pattern for all of it."""
    return bool(want.fullmatch(text)) if isinstance(want, re.Pattern) else text == want


class Timeline:
    """What the server shows after each step, read back through its API; checked against expectations."""

    def __init__(self, zbx, hostid, master, path):
        self.zbx, self.hostid, self.master, self.path = zbx, hostid, master, path
        self.entries = []
        self.started = time.monotonic()

    def snapshot(self):
        items = {}
        for item in self.zbx("item.get", hostids=self.hostid,
                             output=["itemid", "key_", "lastvalue", "lastclock", "state", "error"]):
            key = "raw" if item["itemid"] == self.master else item["key_"].replace("laozhang.balance.", "")
            items[key] = item
        triggers = self.zbx("trigger.get", hostids=self.hostid, output=["description", "state", "error"])
        problems = self.zbx("problem.get", hostids=self.hostid, output=["name", "severity"], sortfield="eventid")
        (interface,) = self.zbx("hostinterface.get", hostids=self.hostid, output=["available", "error"])
        return {"items": items, "triggers": triggers, "problems": sorted(p["name"] for p in problems),
                "interface": interface}

    def reach(self, label, values, problems, since=None):
        """Ask for a check now and again until the values and open problems are as expected."""
        since = since or time.time()
        misses = ["nothing read yet"]

        def settled():
            self.zbx("task.create", [{"type": 6, "request": {"itemid": self.master}}])
            for _ in range(8):
                snap = self.snapshot()
                misses[:] = self.mismatches(snap, values, problems, since)
                if not misses:
                    return snap
                time.sleep(0.5)
            return None

        try:
            snap = wait_for(settled, 90, "%s: %s" % (label, misses))
        except AssertionError:
            self.record(label, self.snapshot(), misses)
            raise AssertionError("%s\n%s" % (label, self.text())) from None
        self.record(label, snap, [])
        return snap

    @staticmethod
    def mismatches(snap, values, problems, since):
        items = snap["items"]
        misses = ["%s is not supported: %s" % (k, i["error"]) for k, i in items.items() if i["state"] != "0"]
        misses += ["trigger %r cannot be evaluated: %s" % (t["description"], t["error"])
                   for t in snap["triggers"] if t["state"] != "0"]
        if values is not None and int(items["raw"]["lastclock"]) < int(since):
            misses.append("no new check result yet")
        for key, want in (values or {}).items():
            if not matches(want, items[key]["lastvalue"]):
                misses.append("%s is %r, not %r" % (key, items[key]["lastvalue"], want))
        unmatched = list(snap["problems"])
        for want in problems:
            found = [name for name in unmatched if matches(want, name)]
            if found:
                unmatched.remove(found[0])
            else:
                misses.append("no problem %r" % want)
        misses += ["unexpected problem %r" % name for name in unmatched]
        return misses

    def record(self, label, snap, misses):
        items = snap["items"]
        line = "[%5.1f s] %s\n" % (time.monotonic() - self.started, label)
        shown = {k: i["lastvalue"] if i["lastclock"] != "0" else "(none yet)" for k, i in items.items()}
        line += "    values: %s\n" % "  ".join("%s=%s" % (k, shown[k]) for k in (
            "state_code", "state", "remaining_usd", "quota", "used_quota", "request_count", "spend_usd_per_day"))
        line += "    status: %s\n" % items["status"]["lastvalue"]
        line += "    raw:    %s\n" % items["raw"]["lastvalue"][:160]
        line += "    items not supported: %s; triggers unknown: %s; agent interface: %s\n" % (
            [k for k, i in items.items() if i["state"] != "0"] or "none",
            [t["description"] for t in snap["triggers"] if t["state"] != "0"] or "none",
            {"0": "unknown", "1": "available", "2": "unavailable (%s)" % snap["interface"]["error"]}[
                snap["interface"]["available"]])
        line += "    problems: %s\n" % (snap["problems"] or "none")
        line += "".join("    MISMATCH: %s\n" % m for m in misses)
        self.entries.append(line)
        print(line, end="", flush=True)
        self.path.write_text(self.text())

    def note(self, text):
        self.entries.append("    %s\n" % text)
        print(self.entries[-1], end="", flush=True)
        self.path.write_text(self.text())

    def events(self, problems, resolved_at):
        """Each problem event with the time it opened and resolved, on the test's clock."""
        offset = time.time() - (time.monotonic() - self.started)
        self.entries.append("problem events:\n" + "".join("    %5.1f s - %s  %s\n" % (
            int(e["clock"]) - offset, "%5.1f s" % (int(resolved_at[e["r_eventid"]]) - offset)
            if e["r_eventid"] in resolved_at else "  open ", e["name"]) for e in problems))
        print(self.entries[-1], end="", flush=True)
        self.path.write_text(self.text())

    def text(self):
        return "".join(self.entries)
