"""Self-hosted one-api and new-api servers, each family reproduced from tests/fixtures/ by the test server."""

import copy
import gzip
import json
from pathlib import Path

import pytest

from conftest import TOKEN, run_check

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAMILIES = ["one-api", "new-api-2025", "new-api-2025-english", "new-api-latest"]
USER_ID = 7


class CompatibleServer:
    """Answers /api/user/self and /api/status the way one server family does.

    `state` is what the server thinks of the account: 'ok', 'disabled' or 'low_role'.
    """

    def __init__(self, family, state="ok"):
        self.fixture = json.loads((FIXTURES / (family + ".json")).read_text())
        self.state = state

    def __call__(self, handler):
        path = handler.path.split("?")[0]
        if path == "/api/status":
            return self._send(handler, 200, self.fixture["status"])
        if path != "/api/user/self":
            return self._send(handler, 404, {"success": False, "message": "not found"})
        refusals = self.fixture["refusals"]
        given = handler.headers.get("Authorization", "")
        token = given[len("Bearer "):] if given.startswith("Bearer ") else given
        if not token:
            return self._send(handler, *refusals["no_token"])
        if token != TOKEN:
            return self._send(handler, *refusals["bad_token"])
        if self.fixture["needs_user_header"]:
            user = handler.headers.get("New-Api-User")
            if not user:
                return self._send(handler, *refusals["missing_user_header"])
            if user != str(USER_ID):
                return self._send(handler, *refusals["wrong_user"])
        if self.state != "ok":
            return self._send(handler, *refusals[self.state])
        answer = copy.deepcopy(self.fixture["self"])
        if self.fixture.get("echoes_access_token"):
            answer["data"]["access_token"] = token
        return self._send(handler, 200, answer)

    @staticmethod
    def _send(handler, status, document):
        body = gzip.compress(json.dumps(document, ensure_ascii=False).encode())
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _args(family, api, *more):
    fixture = json.loads((FIXTURES / (family + ".json")).read_text())
    user = ["--user-id", str(USER_ID)] if fixture["needs_user_header"] else []
    return ["--url", api.url, *user, *more]


@pytest.mark.parametrize("family, expected", [
    ("one-api", "LAOZHANG_BALANCE OK - 500.00 USD left (account root)"),
    ("new-api-2025", "LAOZHANG_BALANCE WARNING - 8.40 USD left (account ops), below the warning threshold of 10 USD"),
    ("new-api-2025-english", "LAOZHANG_BALANCE WARNING - 2.00 USD left (account billing), below the warning "
                             "threshold of 10 USD"),
    ("new-api-latest", "LAOZHANG_BALANCE CRITICAL - -0.15 USD left (account team-a), nothing left: the account can "
                       "serve no requests"),
])
@pytest.mark.parametrize("bearer", [False, True], ids=["bare", "bearer"])
def test_each_family_reports_the_balance(api, family, expected, bearer):
    api.behave(CompatibleServer(family))
    run = run_check(*_args(family, api, "-w", "10", "--quota-per-unit", "auto", "-vvv"),
                    token=("Bearer " + TOKEN) if bearer else TOKEN)
    assert run.status == expected
    # one request for the balance, one for the ratio
    assert [r["path"] for r in api.seen] == ["/api/user/self", "/api/status"]


def test_auto_ratio_changes_the_conversion_and_perfdata(api):
    api.behave(CompatibleServer("new-api-latest"))
    fixed = run_check("--url", api.url)
    assert fixed.status.startswith("LAOZHANG_BALANCE CRITICAL - -0.30 USD left")
    auto = run_check("--url", api.url, "--quota-per-unit", "auto", "-w", "5")
    assert auto.status.startswith("LAOZHANG_BALANCE CRITICAL - -0.15 USD left")
    assert auto.perf["quota"] == "-150000;5000000:;@~:0"
    assert auto.perf["remaining_usd"] == "-0.150000;5:;@~:0"


def test_verbose_says_where_the_auto_ratio_came_from(api):
    api.behave(CompatibleServer("new-api-latest"))
    run = run_check("--url", api.url, "--quota-per-unit", "auto", "-v")
    assert "remaining quota -150000 units = -0.150000 USD at 1000000 units per USD (from the server's /api/status)" \
        in run.lines
    fixed = run_check("--url", api.url, "--quota-per-unit", "1000000", "-v")
    assert "remaining quota -150000 units = -0.150000 USD at 1000000 units per USD" in fixed.lines


def test_verbose_without_a_ratio_from_api_status_is_a_clean_unknown(api):
    server = CompatibleServer("new-api-latest")
    api.behave(lambda h: server._send(h, 404, {}) if h.path == "/api/status" else server(h))
    run = run_check("--url", api.url, "--quota-per-unit", "auto", "-v")
    assert run.code == 3
    assert run.status.startswith("LAOZHANG_BALANCE UNKNOWN - --quota-per-unit auto: the server's /api/status "
                                 "answered HTTP 404")
    assert "remaining quota -150000 units, used quota 731150000 units over 88210 requests" in run.lines


def test_only_one_request_without_auto(api):
    api.behave(CompatibleServer("one-api"))
    run_check("--url", api.url)
    assert [r["path"] for r in api.seen] == ["/api/user/self"]


def test_user_id_is_sent_as_new_api_user(api):
    api.behave(CompatibleServer("new-api-2025"))
    assert run_check("--url", api.url, "--user-id", "7").code == 0
    assert api.seen[0]["headers"]["New-Api-User"] == "7"


def test_access_token_echoed_by_old_new_api_is_never_shown(api):
    server = CompatibleServer("new-api-2025")
    assert server.fixture["echoes_access_token"]
    api.behave(server)
    for verbosity in ([], ["-v"], ["-vv"], ["-vvv"]):
        # run_check fails the test on any output holding the token the server echoed
        run = run_check("--url", api.url, "--user-id", "7", *verbosity)
        assert run.status == "LAOZHANG_BALANCE OK - 8.40 USD left (account ops)"


HINT_TOKEN = ("use the account's system AccessToken (console: account settings, System Token), not a model API key")
HINT_USER_ID = ("this new-api server wants the user's id as well: give --user-id ID (the numeric id the console shows)")
HINT_WRONG_USER = "--user-id must be the numeric id of the token's own user (the id the console shows)"
HINT_DISABLED = "the account is disabled on this server: ask its administrator"
HINT_ROLE = "the token's user lacks the role this endpoint needs: ask the server's administrator"


@pytest.mark.parametrize("family, case, expected", [
    ("one-api", "bad_token", "authentication refused (HTTP 200, API says '无权进行此操作，access token 无效'): " + HINT_TOKEN),
    ("one-api", "disabled", "authentication refused (HTTP 200, API says '用户已被封禁'): " + HINT_DISABLED),
    ("one-api", "low_role", "authentication refused (HTTP 200, API says '无权进行此操作，权限不足'): " + HINT_ROLE),
    ("new-api-2025", "missing_user_header",
     "authentication refused (HTTP 401, API says '无权进行此操作，未提供 New-Api-User'): " + HINT_USER_ID),
    ("new-api-2025", "wrong_user",
     "authentication refused (HTTP 401, API says '无权进行此操作，New-Api-User 与登录用户不匹配'): " + HINT_WRONG_USER),
    ("new-api-2025", "bad_token", "authentication refused (HTTP 401, API says '无权进行此操作，access token 无效'): "
     + HINT_TOKEN),
    ("new-api-2025", "disabled", "authentication refused (HTTP 403, API says '用户已被封禁'): " + HINT_DISABLED),
    ("new-api-2025-english", "missing_user_header",
     "authentication refused (HTTP 401, API says 'Unauthorized, New-Api-User header not provided'): " + HINT_USER_ID),
    ("new-api-2025-english", "disabled", "authentication refused (HTTP 403, API says 'User has been banned'): "
     + HINT_DISABLED),
    ("new-api-2025-english", "low_role",
     "authentication refused (HTTP 403, API says 'Unauthorized, insufficient privilege'): " + HINT_ROLE),
    ("new-api-latest", "bad_token",
     "authentication refused (HTTP 401, API says 'Unauthorized: access token is invalid [AUTH_UNAUTHORIZED]'): "
     + HINT_TOKEN),
    ("new-api-latest", "disabled",
     "authentication refused (HTTP 403, API says 'The user has been disabled [AUTH_USER_DISABLED]'): " + HINT_DISABLED),
    ("new-api-latest", "low_role",
     "authentication refused (HTTP 403, API says 'Insufficient privilege [AUTH_INSUFFICIENT_PRIVILEGE]'): "
     + HINT_ROLE),
])
def test_refusals_get_a_hint_each(api, family, case, expected):
    state = case if case in ("disabled", "low_role") else "ok"
    api.behave(CompatibleServer(family, state))
    token = "sk-wrong-token-0000000000000" if case == "bad_token" else TOKEN
    args = ["--url", api.url]
    if case == "wrong_user":
        args += ["--user-id", "8"]
    elif case != "missing_user_header":
        args = _args(family, api)
    run = run_check(*args, token=token)
    assert run.code == 3
    assert run.status == "LAOZHANG_BALANCE UNKNOWN - " + expected


def test_rate_limit_with_empty_body(api):
    def limited(handler):
        handler.send_response(429)
        handler.send_header("Retry-After", "60")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    api.behave(limited)
    run = run_check("--url", api.url)
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - rate limited by the API (HTTP 429 Too Many Requests, retry "
                          "after 60 s): check less often")


@pytest.mark.parametrize("status_document, expected", [
    ({"success": True, "data": {"system_name": "old"}}, "has no positive data.quota_per_unit"),
    ({"success": True, "data": {"quota_per_unit": 0}}, "has no positive data.quota_per_unit"),
    ({"success": True, "data": {"quota_per_unit": "500000"}}, "has no positive data.quota_per_unit"),
])
def test_auto_without_a_usable_ratio_is_unknown(api, status_document, expected):
    server = CompatibleServer("one-api")
    server.fixture["status"] = status_document
    api.behave(server)
    run = run_check("--url", api.url, "--quota-per-unit", "auto")
    assert run.code == 3
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --quota-per-unit auto: the server's /api/status %s (from 0.001 "
                          "to 1000000000000), give the ratio as --quota-per-unit N" % expected)


def test_auto_against_a_server_without_api_status(api):
    server = CompatibleServer("one-api")
    api.behave(lambda h: server._send(h, 404, {}) if h.path == "/api/status" else server(h))
    run = run_check("--url", api.url, "--quota-per-unit", "auto")
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --quota-per-unit auto: the server's /api/status answered "
                          "HTTP 404 Not Found, give the ratio as --quota-per-unit N")


def test_auto_needs_a_url_it_can_derive_status_from(api):
    run = run_check("--url", api.url.replace("/api/user/self", "/balance"), "--quota-per-unit", "auto")
    assert run.status == ("LAOZHANG_BALANCE UNKNOWN - --quota-per-unit auto needs a --url ending in /api/user/self to "
                          "find /api/status, give the ratio as --quota-per-unit N")
