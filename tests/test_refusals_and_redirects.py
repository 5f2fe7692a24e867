"""Answers that are not what their status says: a success carrying FreshBooks' errors envelope,
a redirect, a malformed token answer, a DELETE whose first attempt was lost; and API URLs that
cannot be right.  Each must end in a typed error (or, for the DELETE, the truth), never in a
change taken as done, a secret sent elsewhere, or a raw exception."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests.adapters

from freshbooks_orm import (
    AuthenticationError,
    Client,
    ConfigurationError,
    Invoice,
    NotFound,
    PermissionDenied,
    RetryPolicy,
    Tax,
    TransportError,
    UncertainWriteError,
    ValidationError,
)
from freshbooks_orm.http.auth import TOKEN_PATH, exchange_code
from freshbooks_orm.sandbox import Sandbox

LIST = "/accounting/account/{account_id}/invoices/invoices"
FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)
REFUSED = {
    "response": {
        "errors": [{"errno": 1004, "field": "po_number", "message": "Invalid value for field."}]
    }
}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=3, seed=4) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[Client]:
    with sb.client(retry=FAST) as c:
        yield c


# --- a success status with an errors envelope ------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_a_success_status_with_the_errors_envelope_is_a_refusal(
    sb: Sandbox, client: Client, method: str
) -> None:
    sb.fail_next(200, body=REFUSED, method=method)
    path = LIST if method in ("GET", "POST") else f"{LIST}/1"
    body = {"invoice": {"po_number": "x"}} if method in ("PUT", "POST") else None
    with pytest.raises(ValidationError) as info:
        client.request(method, path, json=body)
    err = info.value
    # a refusal, not an uncertain write: nothing was done, even for a POST
    assert not isinstance(err, UncertainWriteError)
    assert (err.status_code, err.errno, err.field) == (200, 1004, "po_number")
    assert "Invalid value for field." in str(err) and "HTTP 200" in str(err)
    assert len(sb.requests) == 1  # a refusal is never resent


@pytest.mark.parametrize(("errno", "cls"), [(1012, NotFound), (1003, PermissionDenied)])
def test_a_refusal_takes_the_class_of_its_errno(
    sb: Sandbox, client: Client, errno: int, cls: type[Exception]
) -> None:
    sb.fail_next(200, body={"response": {"errors": [{"errno": errno, "message": "no"}]}})
    with pytest.raises(cls):
        client.request("GET", f"{LIST}/1")


def test_an_empty_errors_list_is_an_answer(sb: Sandbox, client: Client) -> None:
    sb.fail_next(200, body={"response": {"errors": [], "result": {}}})
    assert client.request("GET", LIST) == {"response": {"errors": [], "result": {}}}


def test_a_refused_save_keeps_the_change(sb: Sandbox, client: Client) -> None:
    inv = Invoice.objects.using(client).first()
    assert inv is not None
    inv.po_number = "PO-NEW"
    sb.fail_next(200, body=REFUSED, method="PUT")
    with pytest.raises(ValidationError):
        inv.save()
    assert inv.dirty_fields == {"po_number"} and inv.po_number == "PO-NEW"
    stored = sb.invoices[inv.id]["po_number"]
    assert stored != "PO-NEW"
    inv.save()  # the change is still there to send
    assert sb.invoices[inv.id]["po_number"] == "PO-NEW"


def test_a_refused_delete_leaves_the_object_as_it_was(sb: Sandbox, client: Client) -> None:
    inv = Invoice.objects.using(client).first()
    assert inv is not None
    state = inv.vis_state
    sb.fail_next(200, body=REFUSED, method="PUT")
    with pytest.raises(ValidationError):
        inv.delete()
    assert inv.vis_state == state and sb.invoices[inv.id]["vis_state"] == state


# --- redirects are never followed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "cls"), [("GET", TransportError), ("POST", UncertainWriteError)]
)
def test_a_redirect_is_not_followed(
    sb: Sandbox, client: Client, method: str, cls: type[Exception]
) -> None:
    with Sandbox(invoices=0) as elsewhere:
        sb.fail_next(307, headers={"Location": f"{elsewhere.url}/collect"}, method=method)
        body = {"invoice": {"po_number": "x"}} if method == "POST" else None
        with pytest.raises(cls) as info:
            client.request(method, LIST, json=body)
        assert "307" in str(info.value) and "127.0.0.1" in str(info.value)
        assert elsewhere.requests == []


def test_a_redirected_code_exchange_sends_no_secret_elsewhere(sb: Sandbox) -> None:
    with Sandbox(invoices=0) as elsewhere:
        sb.fail_next(307, headers={"Location": f"{elsewhere.url}/collect"}, method="POST")
        code = sb.authorization_code()
        with pytest.raises(AuthenticationError) as info:
            exchange_code(
                code,
                client_id=sb.client_id,
                client_secret=sb.client_secret,
                redirect_uri=sb.redirect_uri,
                base_url=sb.url,
            )
        assert elsewhere.requests == []
        assert code not in str(info.value) and sb.client_secret not in str(info.value)


def test_a_redirected_refresh_sends_no_secret_elsewhere(sb: Sandbox) -> None:
    code = sb.authorization_code()
    kw = {"client_id": sb.client_id, "client_secret": sb.client_secret}
    token = exchange_code(code, redirect_uri=sb.redirect_uri, base_url=sb.url, **kw)
    client = Client(
        token=token, account_id=sb.account_id, base_url=sb.url, retry=FAST,
        redirect_uri=sb.redirect_uri, **kw,
    )  # fmt: skip
    with Sandbox(invoices=0) as elsewhere:
        sb.expire_access_tokens()
        sb.fail_next(307, headers={"Location": f"{elsewhere.url}/collect"}, method="POST")
        with pytest.raises(AuthenticationError):
            client.request("GET", LIST)
        assert elsewhere.requests == []
    assert [r.path for r in sb.requests][-2:] == [LIST.replace("{account_id}", "zDmNq"), TOKEN_PATH]


# --- a token answer of the wrong shape --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "null",
        "5",
        '"text"',
        '{"access_token": "a", "token_type": "Bearer", "scope": 5}',
        '{"access_token": "a", "token_type": "Bearer", "expires_in": 1e400}',
    ],
)
def test_a_malformed_token_answer_is_an_authentication_error(sb: Sandbox, body: str) -> None:
    sb.fail_next(200, body=body, method="POST")
    with pytest.raises(AuthenticationError):
        exchange_code(
            sb.authorization_code(),
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            redirect_uri=sb.redirect_uri,
            base_url=sb.url,
        )


# --- a DELETE whose first answer was lost -----------------------------------------------------


class _LoseFirstDeleteAnswer(requests.adapters.HTTPAdapter):
    """Sends every request; the first DELETE's answer is then lost (a read timeout)."""

    lost = False

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().send(request, *args, **kwargs)
        if request.method == "DELETE" and not self.lost:
            self.lost = True
            raise requests.exceptions.ReadTimeout("read timed out")
        return response


def test_a_delete_answered_404_after_its_lost_first_attempt_is_done(sb: Sandbox) -> None:
    session = requests.Session()
    session.mount("http://", _LoseFirstDeleteAnswer())
    client = sb.client(retry=FAST, session=session)
    tax = Tax.objects.using(client).first()
    assert tax is not None
    tax.delete()  # the first DELETE deleted it; the resend is answered 404
    assert [(r.method, r.status) for r in sb.requests if r.method == "DELETE"] == [
        ("DELETE", 200),
        ("DELETE", 404),
    ]
    with pytest.raises(NotFound):
        Tax.objects.using(client).get(tax.pk)


def test_a_delete_answered_404_at_once_is_still_not_found(sb: Sandbox, client: Client) -> None:
    with pytest.raises(NotFound):
        client.request("DELETE", "/accounting/account/{account_id}/taxes/taxes/999999")


# --- API URLs that cannot be right ----------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://api.example.com", "localhost:8080", "http://", "https://host:notaport", "x"]
)
def test_an_api_url_that_is_not_http_with_a_host_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        Client("token", "zDmNq", base_url=url)


def test_an_api_url_with_a_password_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        Client("token", "zDmNq", base_url="https://user:S3CRETPW@api.example.com")
    assert "S3CRETPW" not in str(info.value) and "user name or password" in str(info.value)
