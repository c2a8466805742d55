"""The values of the last successful run per configured account, repeated by --format prometheus after a failure.

Prometheus resolves an alert whose series vanishes and restarts the `for:` of a pending one, so a
single failed run would silence a low balance and empty the graphs. A textfile collector or a
Pushgateway user expects the last good values to stay, with the time of the last success beside them
(`laozhang_balance_last_success_timestamp_seconds`) and the failure in its own series.
"""

import json
import math
import os
import time

from . import state


def default_path(url, label):
    """One record per server and configured label: the label, not the API's answer, names the account."""
    # Here, not at the top: hashlib loads OpenSSL (see state.default_path).
    import hashlib

    # surrogatepass: words from the command line may hold bytes that are not UTF-8.
    key = hashlib.sha256(("%s\n%s" % (url, label)).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return os.path.join(state.directory(), "last-%s.json" % key)


class Memory:
    """The record of one account's last successful run."""

    def __init__(self, path):
        self.path = path

    def settle(self, values, user):
        """{'values', 'user', 'time'} of the last successful run: this run's if it read the balance, else the
        stored one, else None."""
        if "remaining_usd" in values:
            # Floats: the values are Decimals, and a record is only shown, never computed with.
            record = {"values": {k: float(v) for k, v in values.items()}, "user": user, "time": time.time()}
            try:
                state.make_directory(os.path.dirname(self.path))
                state.write_json(self.path, record)
            except OSError:
                # Only the repetition after a later failure is lost; the
                # forecast's state file beside it reports an unusable place.
                pass
            return record
        return self._recall()

    def _recall(self):
        try:
            # Never through a planted link, never blocking on a FIFO.
            record = json.loads(state.read_regular(self.path, 1 << 20, "record of the last good values"))
            values = {str(k): float(v) for k, v in record["values"].items()}
            found = {"values": values, "user": str(record["user"] or ""), "time": float(record["time"])}
        except (OSError, state.StateError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
        if not all(math.isfinite(v) for v in (found["time"], *values.values())):
            return None
        return found
