"""OAuth2 and account discovery against the sandbox's token and identity endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from freshbooks_orm import (
    AuthenticationError,
    Client,
    ConfigurationError,
    RetryPolicy,
    ServerError,
)
from freshbooks_orm.http.auth import (
    REFRESH_MARGIN,
    TOKEN_PATH,
    TokenManager,
    authorization_url,
    exchange_code,
)
from freshbooks_orm.sandbox import Sandbox

LIST = "/accounting/account/{account_id}/invoices/invoices"
FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=3, seed=2) as sandbox:
        yield sandbox


def oauth_client(
    sb: Sandbox, token: dict[str, Any], saved: list[dict[str, Any]], **kw: Any
) -> Client:
    return Client(
        token=token,
        account_id=sb.account_id,
        base_url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        redirect_uri=sb.redirect_uri,
        token_saver=saved.append,
        retry=FAST,
        **kw,
    )


def calls(sb: Sandbox) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in sb.requests]


def token_requests(sb: Sandbox) -> list[Any]:
    return [r for r in sb.requests if r.path == TOKEN_PATH]


INVOICES = "/accounting/account/zDmNq/invoices/invoices"


# --- the authorization URL and the code exchange ------------------------------------------


def test_authorization_url() -> None:
    url = authorization_url(
        "my-app",
        "https://example.com/cb",
        scopes=["user:profile:read", "user:invoices:read"],
        state="xyz",
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://auth.freshbooks.com/oauth/authorize"
    )
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["my-app"],
        "redirect_uri": ["https://example.com/cb"],
        "scope": ["user:profile:read user:invoices:read"],
        "state": ["xyz"],
    }


def test_exchange_code_against_the_sandbox(sb: Sandbox) -> None:
    code = sb.authorization_code()
    token = exchange_code(
        code,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        redirect_uri=sb.redirect_uri,
        base_url=sb.url,
    )
    assert {"access_token", "refresh_token", "expires_in", "created_at"} <= set(token)
    (sent,) = sb.requests
    assert (sent.method, sent.path, sent.status) == ("POST", TOKEN_PATH, 200)
    assert sent.form is not None
    assert sent.form["grant_type"] == "authorization_code"
    assert sent.form["client_id"] == sb.client_id
    assert sent.form["redirect_uri"] == sb.redirect_uri
    assert {"code", "client_secret"} <= set(sent.form)
    # The token works, and so does the refresh token it came with.
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, token, saved)
    assert client.request("GET", LIST)["response"]["result"]["total"] == 3
    sb.expire_access_tokens()
    client.request("GET", LIST)
    assert [s for _, _, s in calls(sb)] == [200, 200, 401, 200, 200]
    assert len(saved) == 1


def test_a_used_code_is_refused_without_leaking_the_secret(sb: Sandbox) -> None:
    code = sb.authorization_code()
    kw = {"client_id": sb.client_id, "client_secret": sb.client_secret}
    exchange_code(code, redirect_uri=sb.redirect_uri, base_url=sb.url, **kw)
    with pytest.raises(AuthenticationError) as info:
        exchange_code(code, redirect_uri=sb.redirect_uri, base_url=sb.url, **kw)
    err = info.value
    assert err.status_code == 400
    assert err.errors[0]["error"] == "invalid_grant"
    assert (err.method, err.path) == ("POST", TOKEN_PATH)
    assert sb.client_secret not in str(err) and code not in str(err)


def test_wrong_client_secret(sb: Sandbox) -> None:
    with pytest.raises(AuthenticationError) as info:
        exchange_code(
            sb.authorization_code(),
            client_id=sb.client_id,
            client_secret="wrong-secret",
            redirect_uri=sb.redirect_uri,
            base_url=sb.url,
        )
    assert info.value.status_code == 401
    assert "wrong-secret" not in str(info.value)


# --- refreshing ----------------------------------------------------------------------------


def test_refresh_before_expiry(sb: Sandbox) -> None:
    token = sb.issue_tokens()
    # Issued long ago: it expires in 60 s, inside the refresh margin, though still valid.
    token["created_at"] = time.time() - token["expires_in"] + 60
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, token, saved)
    assert client.tokens.needs_refresh()
    client.request("GET", LIST)
    assert calls(sb) == [("POST", TOKEN_PATH, 200), ("GET", INVOICES, 200)]
    assert len(saved) == 1
    assert client.tokens.access_token == saved[0]["access_token"] != token["access_token"]
    assert client.tokens.refresh_count == 1
    # The new token is good for 12 h: no further refresh.
    client.request("GET", LIST)
    assert len(token_requests(sb)) == 1


def test_no_refresh_outside_the_margin(sb: Sandbox) -> None:
    token = sb.issue_tokens()
    token["created_at"] = time.time() - token["expires_in"] + REFRESH_MARGIN + 60
    saved: list[dict[str, Any]] = []
    oauth_client(sb, token, saved).request("GET", LIST)
    assert calls(sb) == [("GET", INVOICES, 200)]
    assert saved == []


def test_expiry_is_created_at_plus_expires_in_minus_a_margin() -> None:
    token = {"access_token": "a", "refresh_token": "r", "created_at": 1000, "expires_in": 43200}
    tm = TokenManager.from_token(token, client_id="c", client_secret="s")
    assert tm.expires_at == 44200
    assert not tm.needs_refresh(now=44200 - REFRESH_MARGIN - 1)
    assert tm.needs_refresh(now=44200 - REFRESH_MARGIN)
    # A short-lived token is refreshed at half its life, not on every request.
    short = TokenManager.from_token({**token, "expires_in": 60}, client_id="c", client_secret="s")
    assert not short.needs_refresh(now=1029) and short.needs_refresh(now=1030)


def test_short_lived_tokens_are_not_refreshed_on_every_request(sb: Sandbox) -> None:
    sb.token_lifetime = 30
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    for _ in range(3):
        client.request("GET", LIST)
    assert token_requests(sb) == []


def test_refresh_on_401_then_one_resend(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    sb.expire_access_tokens()
    assert client.request("GET", LIST)["response"]["result"]["total"] == 3
    assert calls(sb) == [
        ("GET", INVOICES, 401),
        ("POST", TOKEN_PATH, 200),
        ("GET", INVOICES, 200),
    ]
    assert len(saved) == 1
    form = token_requests(sb)[0].form
    assert form is not None and form["grant_type"] == "refresh_token"


def test_401_after_a_refresh_is_raised_not_looped(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    sb.fail_next(401, times=2, method="GET")
    with pytest.raises(AuthenticationError) as info:
        client.request("GET", LIST)
    assert [s for _, _, s in calls(sb)] == [401, 200, 401]
    assert info.value.status_code == 401


def test_401_on_post_refreshes_and_resends_once(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    sb.expire_access_tokens()
    before = len(sb.invoices)
    customer = next(iter(sb.store.customers))
    client.request(
        "POST", LIST, json={"invoice": {"customerid": customer, "create_date": "2024-01-02"}}
    )
    assert [m for m, _, _ in calls(sb)] == ["POST", "POST", "POST"]
    assert len(sb.invoices) == before + 1


def test_token_saver_gets_the_new_pair_before_it_is_used(sb: Sandbox) -> None:
    seen_at_save: list[list[tuple[str, str, int]]] = []
    saved: list[dict[str, Any]] = []

    def saver(token: dict[str, Any]) -> None:
        seen_at_save.append(calls(sb))
        saved.append(token)
        # The client still holds the old token while the new one is being saved.
        assert client.tokens.access_token != token["access_token"]

    client = oauth_client(sb, sb.issue_tokens(), [])
    client.tokens.token_saver = saver
    sb.expire_access_tokens()
    client.request("GET", LIST)
    # At save time the only requests were the refused GET and the refresh itself.
    assert seen_at_save == [[("GET", INVOICES, 401), ("POST", TOKEN_PATH, 200)]]
    # The saved pair is the live one: a new process can start from it and refresh with it.
    sb.expire_access_tokens()
    sb.requests.clear()
    later: list[dict[str, Any]] = []
    oauth_client(sb, saved[0], later).request("GET", LIST)
    assert [s for _, _, s in calls(sb)] == [401, 200, 200]
    assert len(later) == 1


def test_a_failing_token_saver_stops_the_request_but_keeps_the_pair(sb: Sandbox) -> None:
    def saver(token: dict[str, Any]) -> None:
        raise OSError("disk full")

    client = oauth_client(sb, sb.issue_tokens(), [])
    client.tokens.token_saver = saver
    sb.expire_access_tokens()
    with pytest.raises(OSError, match="disk full"):
        client.request("GET", LIST)
    assert calls(sb) == [("GET", INVOICES, 401), ("POST", TOKEN_PATH, 200)]
    # The old refresh token is spent; the new pair stayed in memory and works.
    client.request("GET", LIST)
    assert calls(sb)[-1] == ("GET", INVOICES, 200)
    assert len(token_requests(sb)) == 1


def test_refresh_token_is_single_use(sb: Sandbox) -> None:
    token = sb.issue_tokens()
    first = oauth_client(sb, dict(token), [])
    second = oauth_client(sb, dict(token), [])  # a stale copy of the same pair
    sb.expire_access_tokens()
    first.request("GET", LIST)
    with pytest.raises(AuthenticationError) as info:
        second.request("GET", LIST)
    assert info.value.errors[0]["error"] == "invalid_grant"
    assert info.value.status_code == 400
    assert "authorize the app again" in str(info.value)
    assert len(token_requests(sb)) == 2


def test_refresh_with_only_a_refresh_token(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = Client(
        account_id=sb.account_id,
        base_url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        refresh_token=sb.issue_tokens()["refresh_token"],
        token_saver=saved.append,
        retry=FAST,
    )
    client.request("GET", LIST)
    assert calls(sb) == [("POST", TOKEN_PATH, 200), ("GET", INVOICES, 200)]
    assert len(saved) == 1


def test_token_endpoint_503_is_retried(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    sb.expire_access_tokens()
    sb.fail_next(503, method="POST")
    client.request("GET", LIST)
    assert [s for _, _, s in calls(sb)] == [401, 503, 200, 200]
    assert len(saved) == 1


def test_token_endpoint_down_raises_server_error(sb: Sandbox) -> None:
    client = oauth_client(sb, sb.issue_tokens(), [])
    sb.expire_access_tokens()
    sb.fail_next(503, method="POST", times=100)
    with pytest.raises(ServerError) as info:
        client.request("GET", LIST)
    assert (info.value.method, info.value.path) == ("POST", TOKEN_PATH)
    assert len(token_requests(sb)) == 4


def test_twenty_threads_on_an_expired_token_refresh_once(sb: Sandbox) -> None:
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, sb.issue_tokens(), saved)
    sb.expire_access_tokens()
    barrier = threading.Barrier(20)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            results.append(client.request("GET", LIST))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20
    assert len(token_requests(sb)) == 1
    assert len(saved) == 1
    assert client.tokens.refresh_count == 1
    gets = [r for r in sb.requests if r.method == "GET"]
    assert sum(r.status == 200 for r in gets) == 20
    assert sum(r.status == 401 for r in gets) <= 20


def test_twenty_threads_near_expiry_refresh_once(sb: Sandbox) -> None:
    token = sb.issue_tokens()
    token["created_at"] = time.time() - token["expires_in"] + 10
    saved: list[dict[str, Any]] = []
    client = oauth_client(sb, token, saved)
    barrier = threading.Barrier(20)

    def work() -> None:
        barrier.wait()
        client.request("GET", LIST)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(token_requests(sb)) == 1
    assert len(saved) == 1
    assert [r.status for r in sb.requests if r.method == "GET"] == [200] * 20


# --- credentials from the environment ---------------------------------------------------------


def test_credentials_from_the_environment(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token)
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", sb.account_id)
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    client = Client()
    assert client.base_url == sb.url
    client.request("GET", LIST)
    assert calls(sb) == [("GET", INVOICES, 200)]


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCESS_TOKEN", "REFRESH_TOKEN", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"FRESHBOOKS_{name}", raising=False)
    with pytest.raises(ConfigurationError) as info:
        Client()
    assert isinstance(info.value, ValueError)
    assert "FRESHBOOKS_ACCESS_TOKEN" in str(info.value)


# --- account discovery ------------------------------------------------------------------------


def test_account_discovery_with_one_business(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRESHBOOKS_ACCOUNT_ID", raising=False)
    client = Client(sb.access_token, base_url=sb.url)
    assert sb.requests == []  # lazy
    assert client.account_id == "zDmNq"
    assert client.account_id == "zDmNq"
    client.request("GET", LIST)
    assert calls(sb) == [("GET", "/auth/api/v1/users/me", 200), ("GET", INVOICES, 200)]


def test_account_discovery_with_several_businesses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRESHBOOKS_ACCOUNT_ID", raising=False)
    with Sandbox(invoices=1, extra_accounts=("AbC12",)) as sb:
        client = Client(sb.access_token, base_url=sb.url)
        with pytest.raises(ConfigurationError) as info:
            client.request("GET", LIST)
        message = str(info.value)
        assert "zDmNq" in message and "AbC12" in message
        assert "account_id=" in message
        assert calls(sb) == [("GET", "/auth/api/v1/users/me", 200)]
        # An explicit choice works without asking.
        sb.requests.clear()
        Client(sb.access_token, "AbC12", base_url=sb.url).request("GET", LIST)
        assert calls(sb) == [("GET", "/accounting/account/AbC12/invoices/invoices", 200)]


def test_account_discovery_is_retried_like_any_get(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRESHBOOKS_ACCOUNT_ID", raising=False)
    sb.fail_next(502, body="<html>bad gateway</html>")
    client = Client(sb.access_token, base_url=sb.url, retry=FAST)
    assert client.account_id == "zDmNq"
    assert [s for _, _, s in calls(sb)] == [502, 200]
