"""Gateways answering a model API key, as one-api and new-api do (see check_laozhang_balance/key_usage.py).

Each is a behaviour for fake_api.ApiServer: it routes by path and answers the way that family's
source code does, so the tests reproduce the key's own figure, the account's figure, currency on
and off, unlimited and expired keys, errors inside HTTP 200, and servers with no key endpoint.
"""

import json

KEY = "sk-app7Qm2xV9pL4cR8tY1uN6bE3wZ5"
QUOTA_PER_UNIT = 500000
# The web console's index page, which one-api serves for any unknown path outside /v1.
CONSOLE_PAGE = b"<!doctype html><html><head><title>One API</title></head><body><div id=root></div></body></html>"


class Key:
    """One model key and its user, in quota units; expires_at in unix seconds, -1 or 0 for never."""

    def __init__(self, remain=7500000, used=2500000, user_remain=60000000, user_used=40000000, unlimited=False,
                 expires_at=-1, name="chatbot-prod"):
        self.remain, self.used = remain, used
        self.user_remain, self.user_used = user_remain, user_used
        self.unlimited, self.expires_at, self.name = unlimited, expires_at, name


class Gateway:
    """A one-api (`family='one-api'`) or new-api (`'new-api'`) server with the given switches."""

    def __init__(self, family, key=None, token_stat=True, currency=True, status_ok=True):
        self.family = family
        self.key = key or Key()
        self.token_stat = token_stat
        self.currency = currency
        self.status_ok = status_ok

    def __call__(self, handler):
        path = handler.path.split("?")[0]
        if path == "/api/status":
            if not self.status_ok:
                return send(handler, 500, {"success": False, "message": "internal error"})
            return send(handler, 200, {"success": True, "data": {
                "quota_per_unit": QUOTA_PER_UNIT, "display_in_currency": self.currency,
                **({"quota_display_type": "USD" if self.currency else "TOKENS"} if self.family == "new-api" else {})}})
        if path == "/api/usage/token" and self.family == "new-api":
            return self._token_usage(handler)
        if path.rstrip("/") in ("/v1/dashboard/billing/subscription", "/dashboard/billing/subscription",
                                "/v1/dashboard/billing/usage", "/dashboard/billing/usage"):
            return self._billing(handler, path.rstrip("/").endswith("subscription"))
        if path.startswith("/v1"):
            return send(handler, 404, {"error": {"message": "Invalid URL (GET %s)" % path, "type": "invalid_request_error"}})
        # Both families serve the web console for any other path.
        return send_raw(handler, 200, CONSOLE_PAGE, "text/html; charset=utf-8")

    def _key_given(self, handler):
        given = handler.headers.get("Authorization", "")
        return given[len("Bearer "):] if given.startswith("Bearer ") else None

    def _token_usage(self, handler):
        key = self._key_given(handler)
        if key is None:
            return send(handler, 401, {"success": False, "message": "Invalid Bearer token"})
        if key != KEY:
            return send(handler, 200, {"success": False, "message": "获取令牌信息失败"})
        k = self.key
        return send(handler, 200, {"code": True, "message": "ok", "data": {
            "object": "token_usage", "name": k.name, "total_granted": k.remain + k.used, "total_used": k.used,
            "total_available": k.remain, "unlimited_quota": k.unlimited, "model_limits": {},
            "model_limits_enabled": False, "expires_at": max(k.expires_at, 0)}})

    def _billing(self, handler, subscription):
        key = self._key_given(handler)
        if key != KEY:
            # The TokenAuth middleware of both families.
            return send(handler, 401, {"error": {"message": "无效的令牌", "type": "one_api_error"}})
        k = self.key
        remain, used = (k.remain, k.used) if self.token_stat else (k.user_remain, k.user_used)
        scale = QUOTA_PER_UNIT if self.currency else 1
        if not subscription:
            return send(handler, 200, {"object": "list", "total_usage": used / scale * 100})
        # new-api reports what was granted in all, one-api what remains.
        amount = (remain + used if self.family == "new-api" else remain) / scale
        if k.unlimited and self.token_stat:
            amount = 100000000
        return send(handler, 200, {"object": "billing_subscription", "has_payment_method": True,
                                   "soft_limit_usd": amount, "hard_limit_usd": amount,
                                   "system_hard_limit_usd": amount,
                                   "access_until": (max(k.expires_at, 0) if self.family == "new-api"
                                                    else k.expires_at) if self.token_stat else 0})


class Failing:
    """A gateway whose billing answers carry an error inside HTTP 200, as a database failure does."""

    def __call__(self, handler):
        if handler.path.startswith("/api/usage/token"):
            return send_raw(handler, 200, CONSOLE_PAGE, "text/html; charset=utf-8")
        if handler.path.startswith("/api/status"):
            return send(handler, 200, {"success": True, "data": {"quota_per_unit": QUOTA_PER_UNIT,
                                                                  "display_in_currency": True}})
        return send(handler, 200, {"error": {"message": "record not found", "type": "one_api_error"}})


class Nothing:
    """A server with no key endpoint at all."""

    def __call__(self, handler):
        return send(handler, 404, {"message": "not found"})


def send(handler, status, document):
    send_raw(handler, status, json.dumps(document, ensure_ascii=False).encode(), "application/json; charset=utf-8")


def send_raw(handler, status, body, content_type):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
