"""Error bodies and the error tree, without a server."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import freshbooks_orm
from freshbooks_orm.errors import (
    AuthenticationError,
    ConfigurationError,
    FreshBooksError,
    NotFound,
    PermissionDenied,
    RateLimitError,
    ServerError,
    TransportError,
    UncertainWriteError,
    ValidationError,
    body_snippet,
    error_for_response,
    error_from_http,
    parse_error_body,
    redact,
)

ACCOUNTING = {
    "response": {
        "errors": [
            {
                "errno": 1012,
                "field": "userid",
                "message": "Client not found.",
                "object": "client",
                "value": "12345",
            },
            {"errno": "1004", "field": "due_date", "message": "Invalid date."},
        ]
    }
}
GOOGLE_RPC = {
    "code": 5,
    "message": "Not Found",
    "details": [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "1012",
            "metadata": {
                "object": "client",
                "message": "Client not found.",
                "field": "userid",
                "value": "12345",
            },
        }
    ],
}
AUTH = {"error": "unauthenticated", "error_description": "The access token expired."}
CLIENT_NOT_FOUND = {
    "errno": 1012,
    "field": "userid",
    "message": "Client not found.",
    "object": "client",
    "value": "12345",
}


def test_parse_accounting_envelope() -> None:
    assert parse_error_body(ACCOUNTING) == [
        CLIENT_NOT_FOUND,
        {
            "errno": 1004,  # a string errno becomes an int
            "field": "due_date",
            "message": "Invalid date.",
            "object": None,
            "value": None,
        },
    ]


def test_parse_google_rpc_envelope() -> None:
    assert parse_error_body(GOOGLE_RPC) == [CLIENT_NOT_FOUND]


def test_parse_google_rpc_envelope_without_details() -> None:
    assert parse_error_body({"code": 16, "message": "unauthenticated"}) == [
        {"errno": 16, "field": None, "message": "unauthenticated", "object": None, "value": None}
    ]


def test_parse_auth_envelope() -> None:
    assert parse_error_body(AUTH) == [
        {
            "errno": None,
            "field": None,
            "message": "The access token expired.",
            "object": None,
            "value": None,
            "error": "unauthenticated",
        }
    ]
    assert parse_error_body({"error": "invalid_grant"})[0]["message"] == "invalid_grant"


@pytest.mark.parametrize(
    "body",
    [None, "", "<html/>", [], {}, {"response": {"result": {}}}, {"response": {"errors": None}}],
)
def test_parse_anything_else_gives_no_errors(body: Any) -> None:
    assert parse_error_body(body) == []


def test_parse_odd_accounting_items() -> None:
    errors = parse_error_body({"response": {"errors": {"errno": 1001, "message": "x"}}})
    assert errors[0]["errno"] == 1001  # a single object instead of a list
    assert parse_error_body({"response": {"errors": ["plain text"]}})[0]["message"] == "plain text"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (403, PermissionDenied),
        (404, NotFound),
        (422, ValidationError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, FreshBooksError),
    ],
)
def test_typed_exception_per_status(status: int, cls: type[FreshBooksError]) -> None:
    err = error_for_response(status, ACCOUNTING, method="GET", path="/x")
    assert type(err) is cls
    assert err.status_code == status


def test_error_attributes_and_message() -> None:
    err = error_for_response(404, ACCOUNTING, method="GET", path="/accounting/account/a/x")
    assert (err.errno, err.field, err.message) == (1012, "userid", "Client not found.")
    assert err.errors == parse_error_body(ACCOUNTING)
    assert err.body == ACCOUNTING  # a copy: secrets are masked in what an error keeps
    assert (err.method, err.path) == ("GET", "/accounting/account/a/x")
    assert str(err) == (
        "HTTP 404 GET /accounting/account/a/x: Client not found. (errno 1012, field 'userid')"
    )


def test_rate_limit_error_carries_retry_after() -> None:
    err = error_for_response(429, None, retry_after=12.0, snippet="(empty body)")
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 12.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "(empty body)"),
        (b"   \n", "(empty body)"),
        (b"<html><body>Bad gateway</body></html>", "<html><body>Bad gateway</body></html>"),
        (b'{"response": {"errors": [{"errno": 10', '{"response": {"errors": [{"errno": 10'),
        (b"\xff\xfe not utf-8", "not utf-8"),
    ],
)
def test_error_from_http_never_raises_json_errors(content: bytes, expected: str) -> None:
    err = error_from_http(502, content, method="GET", path="/p")
    assert isinstance(err, ServerError)
    assert not isinstance(err, json.JSONDecodeError)
    assert expected in str(err)
    assert str(err).startswith("HTTP 502 GET /p: ")


def test_error_from_http_parses_json_with_decimals() -> None:
    body = {"response": {"errors": [{"errno": 1004, "message": "bad", "value": 1.5}]}}
    err = error_from_http(422, json.dumps(body).encode())
    assert isinstance(err, ValidationError)
    assert err.errors[0]["value"] == Decimal("1.5")


def test_error_from_http_redacts_echoed_secrets() -> None:
    content = b"<pre>Authorization: Bearer abc.def refresh_token=r123 s3cr3t</pre>"
    err = error_from_http(500, content, secrets=["s3cr3t"])
    for secret in ("abc.def", "r123", "s3cr3t"):
        assert secret not in str(err)
        assert secret not in repr(err)
        assert secret not in str(err.body)


def test_redact() -> None:
    assert redact("Bearer abc123", []) == "Bearer ***"
    assert redact('{"access_token": "t0k"}') == '{"access_token": "***"}'
    assert redact("client_secret=zz&x=1") == "client_secret=***&x=1"
    assert redact("nothing here", ["", None]) == "nothing here"
    # prose naming a key is not a secret: the first message a new user meets stays readable
    prose = "pass access_token= (or set FRESHBOOKS_ACCESS_TOKEN), or refresh_token: (see docs)"
    assert redact(prose) == prose
    assert redact("refresh_token= abc.DEF-123") == "refresh_token= ***"


def test_the_missing_credentials_message_reads_whole(monkeypatch) -> None:
    from freshbooks_orm import Client, ConfigurationError

    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_REFRESH_TOKEN", "FRESHBOOKS_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as info:
        Client(account_id="zDmNq")
    assert "pass access_token= (or set FRESHBOOKS_ACCESS_TOKEN)" in str(info.value)


def test_body_snippet_is_short_and_one_line() -> None:
    snippet = body_snippet(b"<html>\n\n  " + b"x" * 1000)
    assert "\n" not in snippet
    assert len(snippet) <= 210 and snippet.endswith("...")


def test_tree() -> None:
    for cls in (
        AuthenticationError,
        PermissionDenied,
        NotFound,
        ValidationError,
        RateLimitError,
        ServerError,
        TransportError,
        UncertainWriteError,
        ConfigurationError,
    ):
        assert issubclass(cls, FreshBooksError)
    assert issubclass(ConfigurationError, ValueError)
    # A handler that retries server or transport errors must not re-send an uncertain POST.
    assert not issubclass(UncertainWriteError, ServerError | TransportError)


def test_every_error_is_exported() -> None:
    for name in (
        "AuthenticationError",
        "ConfigurationError",
        "FreshBooksError",
        "NotFound",
        "PermissionDenied",
        "RateLimitError",
        "ServerError",
        "TransportError",
        "UncertainWriteError",
        "ValidationError",
    ):
        assert getattr(freshbooks_orm, name) is getattr(freshbooks_orm.errors, name)


def test_str_without_request_details() -> None:
    assert str(FreshBooksError("plain")) == "plain"
    assert str(FreshBooksError("m", field="due_date")) == "m (field 'due_date')"
