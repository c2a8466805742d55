"""What one run was asked to do: an immutable record built once from the command line.

A namedtuple, not a dataclass: importing dataclasses costs start-up time every run pays.
"""

from collections import namedtuple

from .forecast import DEFAULT_WINDOW_HOURS

_FIELDS = ("url token_file timeout quota_per_usd response_file ca_file user_id "
           "state_file window_hours warning critical warning_days critical_days")


class Settings(namedtuple("Settings", _FIELDS, defaults=(None, None, None, None, DEFAULT_WINDOW_HOURS,
                                                         None, None, None, None))):
    """The server and credentials to ask, where the history lives, and the thresholds (nagiosplugin Ranges)."""

    __slots__ = ()

    @property
    def window(self):
        """The forecast window in seconds."""
        return self.window_hours * 3600

    @property
    def forecast_required(self):
        """With a days threshold the forecast is part of the answer: a state file that cannot be used is UNKNOWN."""
        return self.warning_days is not None or self.critical_days is not None
