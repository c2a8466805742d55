"""What one run was asked to do: an immutable record built once from the command line.

A namedtuple, not a dataclass: importing dataclasses costs start-up time every run pays.
"""

from collections import namedtuple

from .forecast import DEFAULT_SPEND_MINUTES, DEFAULT_WINDOW_HOURS

_FIELDS = ("url token_file timeout quota_per_usd response_file ca_file user_id "
           "state_file window_hours warning critical warning_days critical_days "
           "warning_spend critical_spend spend_window_minutes warning_spend_ratio critical_spend_ratio "
           "mode key_file warning_expiry critical_expiry")


class Settings(namedtuple("Settings", _FIELDS, defaults=(None, None, None, None, DEFAULT_WINDOW_HOURS,
                                                         None, None, None, None,
                                                         None, None, DEFAULT_SPEND_MINUTES, None, None,
                                                         "token", None, None, None))):
    """The server and credentials to ask, where the history lives, and the thresholds.

    USD, days and spend thresholds are nagiosplugin Ranges; spend ratios are floats.
    `mode` is 'token' (the account's AccessToken, /api/user/self) or 'key' (a model API key's
    own quota and expiry, key_usage.py); the expiry thresholds are days and apply to key mode.
    """

    __slots__ = ()

    @property
    def window(self):
        """The forecast window in seconds."""
        return self.window_hours * 3600

    @property
    def spend_window(self):
        """The spend window in seconds."""
        return self.spend_window_minutes * 60

    @property
    def spend_alerts(self):
        """Whether any spend threshold is set."""
        return any(t is not None for t in (self.warning_spend, self.critical_spend,
                                           self.warning_spend_ratio, self.critical_spend_ratio))

    @property
    def history_required(self):
        """Whether a threshold needs the state file: then a state file that cannot be used is UNKNOWN."""
        return self.forecast_required or self.spend_alerts

    @property
    def forecast_required(self):
        """With a days threshold the forecast is part of the answer."""
        return self.warning_days is not None or self.critical_days is not None
