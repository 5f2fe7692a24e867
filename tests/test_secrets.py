"""No secret by any path: credentials are cleaned or refused without being shown, and a server
that echoes them cannot get them into an error, its pickle, its chain or a log line."""

from __future__ import annotations

import logging
import pickle
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from freshbooks_orm import (
    AuthenticationError,
    ConfigurationError,
    FreshBooksError,
    Invoice,
    RetryPolicy,
    TransportError,
    UncertainWriteError,
)
from freshbooks_orm.cli import main
from freshbooks_orm.http.auth import exchange_code
from freshbooks_orm.http.transport import Client
from freshbooks_orm.orm.query import ResourceSpec
from freshbooks_orm.sandbox import Sandbox

FAST = RetryPolicy(max_retries=1, backoff=0.0)
LIST = "/accounting/account/{account_id}/invoices/invoices"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=3, seed=1) as sandbox:
        yield sandbox


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- scanning what an error holds ----------------------------------------------------------------


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def texts_of(exc: BaseException) -> list[str]:
    """Everything one can read off an error and the exceptions chained to it."""
    out = []
    for e in chain(exc):
        out += [str(e), repr(e), repr(e.args), repr(vars(e))]
        if isinstance(e, FreshBooksError):
            out.append(repr(pickle.loads(pickle.dumps(e)).__dict__))
        out.append(repr(pickle.dumps(e)))
        request = getattr(e, "request", None)
        if request is not None:  # a requests exception: its prepared request and body
            out += [repr(dict(request.headers)), repr(request.body)]
        response = getattr(e, "response", None)
        if response is not None:
            out.append(repr(response.content))
    return out


def assert_clean(exc: BaseException, secrets: list[str]) -> None:
    for text in texts_of(exc):
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}... leaked in {text[:200]}"


# --- cleaning and refusing credentials -----------------------------------------------------------


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t"])
def test_surrounding_whitespace_is_stripped(sb: Sandbox, suffix: str) -> None:
    client = Client(" " + sb.access_token + suffix, " zDmNq\n", base_url=sb.url)
    assert Invoice.objects.using(client).count() == 3
    assert client.tokens.access_token == sb.access_token


@pytest.mark.parametrize("inside", ["\n", " ", "\x00", "\u00e9", "\u2028", "\x7f"], ids=repr)
def test_a_token_with_whitespace_or_controls_inside_is_refused_unshown(inside: str) -> None:
    token = "abcdefgh" + inside + "ijklmnop"
    for make in (
        lambda: Client(token, "zDmNq"),
        lambda: Client("x" * 20, refresh_token=token, client_id="c", client_secret="s" * 9),
        lambda: Client("x" * 20, "zDmNq", client_id="c", client_secret=token, refresh_token="r"),
        lambda: Client(token={"access_token": token}, account_id="zDmNq"),
    ):
        with pytest.raises(ConfigurationError) as info:
            make()
        assert_clean(info.value, ["abcdefgh", "ijklmnop"])


def test_environment_tokens_are_cleaned_or_refused(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token + "\n")
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", "zDmNq\n")
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    assert Invoice.objects.using(Client()).count() == 3
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", "first-half\nsecond-half")
    with pytest.raises(ConfigurationError) as info:
        Client()
    assert_clean(info.value, ["first-half", "second-half"])


def test_cli_token_with_a_newline(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Any
) -> None:
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", str(tmp_path / "tokens.json"))
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", sb.account_id)
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token + "\n")
    assert main(["invoices", "list", "--format", "json"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token + "\n" + sb.access_token)
    assert main(["invoices", "list"]) == 2
    err = capsys.readouterr().err
    assert sb.access_token not in err and err.count("\n") == 1 and "whitespace" in err
    assert main(["--access-token", "abcdefgh ijklmnop", "invoices", "list", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "abcdefgh" not in err and "ijklmnop" not in err


# --- the account id ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a?b#c", "a/b", "../x", "zDm Nq", "zDmNq%2F", "é", "x" * 33])
def test_bad_account_ids_are_refused_before_any_request(bad: str, capsys: Any) -> None:
    with pytest.raises(ConfigurationError, match="letters and digits"):
        Client("a-valid-token", bad)
    assert main(["--access-token", "a-valid-token", "--account-id", bad, "invoices", "list"]) == 2
    assert "letters and digits" in capsys.readouterr().err


def test_account_ids_are_escaped_in_paths() -> None:
    spec = ResourceSpec("X", "x/xs", "x", "xs", {})
    assert spec.list_path("a?b#c") == "/accounting/account/a%3Fb%23c/x/xs"
    assert spec.detail_path("zDmNq", "1/2") == "/accounting/account/zDmNq/x/xs/1%2F2"


def test_a_discovered_account_id_is_checked_too(sb: Sandbox) -> None:
    client = Client(sb.access_token, base_url=sb.url, retry=FAST)
    sb.fail_next(200, body={"response": {"business_memberships": [
        {"business": {"account_id": "a?b", "name": "x"}}]}})  # fmt: skip
    with pytest.raises(FreshBooksError, match="letters and digits"):
        client.account_id  # noqa: B018


# --- an echoing server ---------------------------------------------------------------------------


def echoing_failures(sb: Sandbox, client: Client, secrets: list[str]) -> list[FreshBooksError]:
    """Make ``client`` fail every way it can while the server repeats ``secrets`` back."""
    echo = " | ".join(secrets)
    caught: list[FreshBooksError] = []

    def expect(kind: type[FreshBooksError], call: Any) -> None:
        with pytest.raises(kind) as info:
            call()
        caught.append(info.value)

    get = lambda: client.request("GET", LIST)  # noqa: E731
    post = lambda: client.request("POST", LIST, json={"invoice": {}})  # noqa: E731
    accounting = {"response": {"errors": [
        {"errno": 1004, "field": f"Bearer {secrets[0]}", "message": f"bad {echo}",
         "object": {"nested": [echo, {echo: echo}]}, "value": echo}]}}  # fmt: skip
    meta = {"message": echo, "value": echo, "field": echo}
    rpc = {"code": 5, "message": echo, "details": [{"reason": "1012", "metadata": meta}]}
    for status, body in [
        (422, accounting),
        (404, rpc),
        (401, {"error": "unauthenticated", "error_description": echo}),  # refresh, then 401
        (400, f"<html>Authorization: Bearer {secrets[0]} {echo}</html>"),
        (403, echo),
    ]:
        sb.fail_next(status, body=body, method="GET", times=2 if status == 401 else 1)
        expect(FreshBooksError, get)
    sb.fail_next(500, body=accounting, method="POST")
    expect(UncertainWriteError, post)
    sb.fail_next(200, body=f"<html>{echo}</html>")
    expect(TransportError, get)
    sb.fail_next(200, body=f"<html>{echo}</html>", method="POST")
    expect(UncertainWriteError, post)
    sb.fail_next("drop", times=5)
    expect(TransportError, get)  # gave up: chained to a requests ConnectionError
    sb.clear_failures()
    sb.fail_next("drop", method="POST")
    expect(UncertainWriteError, post)
    sb.clear_failures()
    sb.fail_next(404, body=accounting)
    expect(Invoice.DoesNotExist, lambda: Invoice.objects.using(client).get(1))
    return caught


def test_errors_pickles_chains_and_logs_hold_no_echoed_secret(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="freshbooks_orm")
    token = sb.issue_tokens()
    client = Client(
        token=token,
        account_id=sb.account_id,
        base_url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        redirect_uri=sb.redirect_uri,
        retry=FAST,
    )
    secrets = [token["access_token"], token["refresh_token"], sb.client_secret]
    caught = echoing_failures(sb, client, secrets)
    assert len(caught) == 11 and client.tokens.refresh_count == 1
    secrets += [s for s in client.tokens.secrets() if s]  # the refreshed pair too
    for error in caught:
        assert_clean(error, secrets)
    # The body, errors and args are kept, masked -- not dropped.
    first = caught[0]
    assert first.errors[0]["value"].startswith("***") and "***" in str(first.body)
    assert first.args == (first.message,) and "***" in first.message
    # A failed refresh echoing the refresh token and client secret.
    sb.expire_access_tokens()
    sb.fail_next(400, body={"error": "invalid_grant", "error_description": " ".join(secrets)},
                 method="POST")  # fmt: skip
    with pytest.raises(AuthenticationError) as info:
        client.request("GET", LIST)
    assert_clean(info.value, secrets)
    assert all(secret not in caplog.text for secret in secrets)
    assert "GET" in caplog.text  # the log was on


def test_network_errors_keep_their_text_but_not_the_request(sb: Sandbox) -> None:
    client = Client(sb.access_token + "-a-long-tail", "zDmNq", base_url=closed_port_url(),
                    retry=FAST)  # fmt: skip
    with pytest.raises(TransportError) as info:
        client.request("GET", LIST)
    cause = info.value.__cause__
    assert isinstance(cause, requests.ConnectionError) and cause.request is None
    assert info.value.__context__ is None or info.value.__context__ is cause
    assert_clean(info.value, [sb.access_token])


def test_code_exchange_failures_hold_neither_code_nor_secret(sb: Sandbox) -> None:
    code, secret = "an-authorization-code-123", "a-client-secret-456"
    with pytest.raises(TransportError) as info:
        exchange_code(code, client_id="c", client_secret=secret, redirect_uri="https://x/cb",
                      base_url=closed_port_url())  # fmt: skip
    assert_clean(info.value, [code, secret])
    sb.fail_next(200, body=f"not json {code} {secret}", method="POST")
    with pytest.raises(AuthenticationError) as info:
        exchange_code(code + "\n", client_id="c", client_secret=secret,
                      redirect_uri="https://x/cb", base_url=sb.url)  # fmt: skip
    assert_clean(info.value, [code, secret])


def test_a_server_token_with_a_newline_is_refused_unshown(sb: Sandbox) -> None:
    sb.fail_next(
        200,
        body={"access_token": "new-token\nsecond-line", "refresh_token": "r" * 20,
              "token_type": "Bearer", "expires_in": 43200},
        method="POST",
    )  # fmt: skip
    with pytest.raises(AuthenticationError) as info:
        exchange_code("a-code-1234", client_id="c", client_secret="s" * 12,
                      redirect_uri="https://x/cb", base_url=sb.url)  # fmt: skip
    assert_clean(info.value, ["new-token", "second-line"])


def test_errors_unpickle_with_their_details() -> None:
    error = Invoice.DoesNotExist("Invoice 1 does not exist", status_code=404, errno=1012,
                                 method="GET", path="/x", body={"a": [1]})  # fmt: skip
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is Invoice.DoesNotExist
    assert (back.status_code, back.errno, back.body, str(back)) == (
        404, 1012, {"a": [1]}, str(error))  # fmt: skip
