"""The transport against the sandbox: retries, timeouts, error bodies, logging, secrecy.

Every test that is about "how many requests" counts them in ``sb.requests``: the sandbox
records each request it received, including the ones whose connection it dropped (status 0).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests.adapters

from freshbooks_orm import (
    Client,
    FreshBooksError,
    NotFound,
    PermissionDenied,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    UncertainWriteError,
    ValidationError,
)
from freshbooks_orm.errors import AuthenticationError
from freshbooks_orm.http.transport import DEFAULT_TIMEOUT, _parse_retry_after
from freshbooks_orm.sandbox import Sandbox

LIST = "/accounting/account/{account_id}/invoices/invoices"
#: Tiny waits so that no test sleeps more than a fraction of a second.
FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=5, seed=1) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[Client]:
    with sb.client(retry=FAST) as c:
        yield c


def statuses(sb: Sandbox) -> list[int]:
    return [r.status for r in sb.requests]


def new_invoice(sb: Sandbox) -> dict[str, Any]:
    customer = next(iter(sb.store.customers))
    return {"invoice": {"customerid": customer, "create_date": "2024-05-01"}}


def wait_for_requests(sb: Sandbox, count: int, timeout: float = 3.0) -> None:
    """The sandbox records a request after its latency; wait until ``count`` are in."""
    deadline = time.monotonic() + timeout
    while len(sb.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


# --- retried: GET and PUT ---------------------------------------------------------------------


def test_429_then_success(sb: Sandbox, client: Client) -> None:
    sb.fail_next(429, headers={"Retry-After": "0"})
    body = client.request("GET", LIST)
    assert body["response"]["result"]["total"] == 5
    assert statuses(sb) == [429, 200]


def test_502_html_then_success(sb: Sandbox, client: Client) -> None:
    sb.fail_next(502, body=HTML_502)
    assert client.request("GET", LIST)["response"]["result"]["total"] == 5
    assert statuses(sb) == [502, 200]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_on_get(sb: Sandbox, client: Client, status: int) -> None:
    sb.fail_next(status, times=2)
    client.request("GET", LIST)
    assert statuses(sb) == [status, status, 200]


def test_503_forever_gives_up_after_exactly_one_plus_max_retries(
    sb: Sandbox, client: Client
) -> None:
    sb.fail_next(503, times=100)
    with pytest.raises(ServerError) as info:
        client.request("GET", LIST)
    assert statuses(sb) == [503] * 4
    assert info.value.status_code == 503
    assert "gave up after 4 attempts" in str(info.value)


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_retry_count_follows_max_retries(sb: Sandbox, max_retries: int) -> None:
    sb.fail_next(502, times=100)
    policy = RetryPolicy(max_retries=max_retries, backoff=0.001)
    with sb.client(retry=policy) as c, pytest.raises(ServerError):
        c.request("GET", LIST)
    assert len(sb.requests) == 1 + max_retries


def test_max_retries_shortcut_argument(sb: Sandbox) -> None:
    sb.fail_next(503, times=100)
    with sb.client(max_retries=1) as c:
        c.retry = RetryPolicy(max_retries=c.retry.max_retries, backoff=0.001)
        with pytest.raises(ServerError):
            c.request("GET", LIST)
    assert len(sb.requests) == 2


def test_429_forever_raises_rate_limit_error_with_retry_after(sb: Sandbox, client: Client) -> None:
    sb.fail_next(429, headers={"Retry-After": "0"}, times=100)
    with pytest.raises(RateLimitError) as info:
        client.request("GET", LIST)
    assert info.value.retry_after == 0.0
    assert len(sb.requests) == 4


def test_put_is_retried_because_it_sends_full_state(sb: Sandbox, client: Client) -> None:
    iid = next(iter(sb.invoices))
    sb.fail_next(503, method="PUT")
    body = client.request("PUT", f"{LIST}/{iid}", json={"invoice": {"notes": "retried once"}})
    assert body["response"]["result"]["invoice"]["notes"] == "retried once"
    assert statuses(sb) == [503, 200]


def test_dropped_connection_on_get_is_retried(sb: Sandbox, client: Client) -> None:
    sb.fail_next("drop")
    client.request("GET", LIST)
    assert statuses(sb) == [0, 200]


def test_dropped_connection_forever_gives_up(sb: Sandbox, client: Client) -> None:
    sb.fail_next("drop", times=100)
    with pytest.raises(TransportError) as info:
        client.request("GET", LIST)
    assert statuses(sb) == [0] * 4
    assert info.value.method == "GET"
    assert info.value.path == "/accounting/account/zDmNq/invoices/invoices"


# --- never re-sent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (403, PermissionDenied),
        (404, NotFound),
        (422, ValidationError),
        (500, ServerError),
    ],
)
def test_client_errors_are_sent_once(
    sb: Sandbox, client: Client, status: int, cls: type[FreshBooksError]
) -> None:
    sb.fail_next(status)
    with pytest.raises(cls) as info:
        client.request("GET", LIST)
    assert statuses(sb) == [status]
    assert info.value.status_code == status


def test_422_on_post_is_sent_once(sb: Sandbox, client: Client) -> None:
    with pytest.raises(ValidationError) as info:
        client.request("POST", LIST, json={"invoice": {"create_date": "2024-05-01"}})
    assert statuses(sb) == [422]
    assert info.value.field == "customerid"
    assert info.value.errno == 1001


def test_401_without_refresh_credentials_is_sent_once(sb: Sandbox, client: Client) -> None:
    sb.expire_access_tokens()
    with pytest.raises(AuthenticationError):
        client.request("GET", LIST)
    assert statuses(sb) == [401]


# --- POST: only retried when it provably never arrived -------------------------------------


def test_post_500_is_sent_once_and_says_the_invoice_may_exist(sb: Sandbox, client: Client) -> None:
    sb.fail_next(500, method="POST")
    with pytest.raises(UncertainWriteError) as info:
        client.request("POST", LIST, json=new_invoice(sb))
    assert [(r.method, r.status) for r in sb.requests] == [("POST", 500)]
    err = info.value
    assert "may or may not have created" in str(err)
    assert (err.status_code, err.method) == (500, "POST")
    assert not isinstance(err, ServerError | TransportError)  # a blanket retry must not catch it


@pytest.mark.parametrize("status", [502, 503, 504])
def test_post_gateway_errors_are_sent_once(sb: Sandbox, client: Client, status: int) -> None:
    sb.fail_next(status, method="POST")
    with pytest.raises(UncertainWriteError):
        client.request("POST", LIST, json=new_invoice(sb))
    assert statuses(sb) == [status]


def test_post_dropped_connection_is_sent_once(sb: Sandbox, client: Client) -> None:
    sb.fail_next("drop", method="POST")
    with pytest.raises(UncertainWriteError) as info:
        client.request("POST", LIST, json=new_invoice(sb))
    assert statuses(sb) == [0]
    assert info.value.status_code is None


def test_post_429_is_retried_and_creates_one_invoice(sb: Sandbox, client: Client) -> None:
    before = len(sb.invoices)
    sb.fail_next(429, headers={"Retry-After": "0"}, method="POST")
    client.request("POST", LIST, json=new_invoice(sb))
    assert statuses(sb) == [429, 200]
    assert len(sb.invoices) == before + 1


class FlakyConnectAdapter(requests.adapters.HTTPAdapter):
    """Raises ``exc`` for the first ``times`` sends without touching the network."""

    def __init__(self, exc: requests.RequestException, times: int = 1) -> None:
        super().__init__()
        self.exc = exc
        self.times = times
        self.sends = 0

    def send(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sends += 1
        if self.sends <= self.times:
            raise self.exc
        return super().send(*args, **kwargs)


def test_post_connect_timeout_is_retried(sb: Sandbox) -> None:
    adapter = FlakyConnectAdapter(requests.exceptions.ConnectTimeout("connect timed out"))
    session = requests.Session()
    session.mount("http://", adapter)
    before = len(sb.invoices)
    client = sb.client(retry=FAST, session=session)
    client.request("POST", LIST, json=new_invoice(sb))
    assert adapter.sends == 2
    assert statuses(sb) == [200]  # the first attempt never reached the server
    assert len(sb.invoices) == before + 1


@pytest.mark.parametrize(
    ("method", "exc", "raised", "sends"),
    [
        ("GET", requests.exceptions.ReadTimeout("read timed out"), None, 2),
        ("GET", requests.exceptions.ChunkedEncodingError("cut short"), None, 2),
        ("GET", requests.exceptions.SSLError("certificate verify failed"), TransportError, 1),
        ("POST", requests.exceptions.ReadTimeout("read timed out"), UncertainWriteError, 1),
        ("POST", requests.exceptions.ChunkedEncodingError("cut"), UncertainWriteError, 1),
        ("POST", requests.exceptions.InvalidHeader("bad header"), TransportError, 1),
    ],
)
def test_which_network_errors_are_retried(
    sb: Sandbox,
    method: str,
    exc: requests.RequestException,
    raised: type[FreshBooksError] | None,
    sends: int,
) -> None:
    adapter = FlakyConnectAdapter(exc)
    session = requests.Session()
    session.mount("http://", adapter)
    client = sb.client(retry=FAST, session=session)
    payload = new_invoice(sb) if method == "POST" else None
    if raised is None:
        client.request(method, LIST, json=payload)
    else:
        with pytest.raises(raised) as info:
            client.request(method, LIST, json=payload)
        assert type(info.value) is raised
    assert adapter.sends == sends


def test_post_read_timeout_is_not_retried(sb: Sandbox) -> None:
    client = sb.client(retry=FAST, timeout=(1.0, 0.05))
    sb.latency = 0.3
    before = len(sb.invoices)
    with pytest.raises(UncertainWriteError) as info:
        client.request("POST", LIST, json=new_invoice(sb))
    assert "ReadTimeout" in str(info.value)
    wait_for_requests(sb, 1)
    time.sleep(0.4)  # a resend would have arrived by now
    assert [r.method for r in sb.requests] == ["POST"]
    # Exactly why it is never re-sent: the server did create it.
    assert len(sb.invoices) == before + 1


def test_post_connection_refused_is_retried_then_raises() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sends = 0

    class Counting(requests.Session):
        def send(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            nonlocal sends
            sends += 1
            return super().send(*args, **kwargs)

    client = Client(
        "t", "zDmNq", base_url=f"http://127.0.0.1:{port}", retry=FAST, session=Counting()
    )
    with pytest.raises(TransportError) as info:
        client.request("POST", LIST, json={"invoice": {}})
    assert not isinstance(info.value, UncertainWriteError)
    assert sends == 4
    assert "gave up after 4 attempts" in str(info.value)


# --- timeouts ------------------------------------------------------------------------------


def test_default_timeout_is_set_on_every_request(sb: Sandbox) -> None:
    seen: list[Any] = []

    class Spy(requests.Session):
        def send(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            seen.append(kwargs.get("timeout"))
            return super().send(*args, **kwargs)

    sb.client(session=Spy()).request("GET", LIST)
    sb.client(session=Spy(), timeout=None).request("GET", LIST)  # None still means a timeout
    sb.client(session=Spy(), timeout=(2, 7)).request("GET", LIST)
    assert seen == [DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, (2, 7)]


def test_read_timeout_on_get_is_retried_then_raises(sb: Sandbox) -> None:
    client = sb.client(retry=FAST, timeout=(1.0, 0.05))
    sb.latency = 0.2
    with pytest.raises(TransportError) as info:
        client.request("GET", LIST)
    assert "ReadTimeout" in str(info.value)
    wait_for_requests(sb, 4)
    time.sleep(0.3)
    assert len(sb.requests) == 4


def test_one_pooled_session_with_keep_alive(sb: Sandbox, client: Client) -> None:
    for _ in range(5):
        client.request("GET", LIST)
    assert len(sb.requests) == 5
    adapter = client.session.get_adapter(sb.url)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    container = adapter.poolmanager.pools  # not iterable itself, hence .keys()
    pools = [container[key] for key in container.keys()]  # noqa: SIM118
    assert sum(pool.num_connections for pool in pools) == 1  # five requests, one connection


# --- Retry-After and the shared gate ------------------------------------------------------


def test_retry_after_is_capped(sb: Sandbox, client: Client) -> None:
    sb.fail_next(429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    client.request("GET", LIST)
    assert time.monotonic() - started < 1.0  # capped at FAST.max_retry_after = 0.05 s
    assert statuses(sb) == [429, 200]


def test_retry_after_is_honoured(sb: Sandbox) -> None:
    policy = RetryPolicy(max_retries=1, backoff=0.001, max_retry_after=1.0)
    sb.fail_next(503, headers={"Retry-After": "0.3"})
    started = time.monotonic()
    sb.client(retry=policy).request("GET", LIST)
    assert time.monotonic() - started >= 0.3
    assert statuses(sb) == [503, 200]


def test_retry_policy_delay() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0, max_retry_after=10.0)
    assert policy.delay(1, retry_after=3600) == 10.0
    assert policy.delay(1, retry_after=2) == 2
    for n, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        for _ in range(20):
            assert ceiling / 2 <= policy.delay(n) <= ceiling
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_parse_retry_after() -> None:
    assert _parse_retry_after("7") == 7.0
    assert _parse_retry_after("-3") == 0.0
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("nan") is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 100))
    assert 95 <= (_parse_retry_after(future) or 0) <= 101


def test_429_on_one_thread_holds_back_every_thread(sb: Sandbox, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="freshbooks_orm")
    client = sb.client(retry=RetryPolicy(max_retries=3, backoff=0.001, max_retry_after=1.0))
    sb.fail_next(429, headers={"Retry-After": "0.4"})
    first = threading.Thread(target=client.request, args=("GET", LIST))
    first.start()
    deadline = time.monotonic() + 3
    while not any("holding every request" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    started = time.monotonic()
    client.request("GET", LIST)  # this thread never saw the 429 itself
    waited = time.monotonic() - started
    first.join()
    assert waited >= 0.25
    assert statuses(sb) == [429, 200, 200]


# --- error bodies ----------------------------------------------------------------------------


def test_html_error_body_becomes_a_clear_error(sb: Sandbox, client: Client) -> None:
    sb.fail_next(500, body=HTML_502)
    with pytest.raises(ServerError) as info:
        client.request("GET", LIST)
    err = info.value
    assert not isinstance(err, json.JSONDecodeError)
    assert err.status_code == 500
    assert "502 Bad Gateway" in str(err)
    assert "HTTP 500 GET /accounting/account/zDmNq/invoices/invoices" in str(err)
    assert isinstance(err.body, str) and err.body.startswith("<html>")


def test_empty_error_body(sb: Sandbox, client: Client) -> None:
    sb.fail_next(500, body="")
    with pytest.raises(ServerError) as info:
        client.request("GET", LIST)
    assert info.value.status_code == 500
    assert "(empty body)" in str(info.value)


def test_long_html_body_is_cut_to_a_snippet(sb: Sandbox, client: Client) -> None:
    sb.fail_next(500, body="<html>" + "x" * 5000 + "</html>")
    with pytest.raises(ServerError) as info:
        client.request("GET", LIST)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("body", ['{"response": {"result": {"invoice": {"id": 1', "", "<html/>"])
def test_truncated_empty_or_html_success_body_on_get(
    sb: Sandbox, client: Client, body: str
) -> None:
    sb.fail_next(200, body=body)
    with pytest.raises(TransportError) as info:
        client.request("GET", LIST)
    assert not isinstance(info.value, json.JSONDecodeError)
    assert info.value.status_code == 200
    assert info.value.method == "GET"
    assert len(sb.requests) == 1


def test_truncated_success_body_on_post_is_an_uncertain_write(sb: Sandbox, client: Client) -> None:
    sb.fail_next(201, body='{"response": {"result": {"invoice": {"id": 9', method="POST")
    with pytest.raises(UncertainWriteError) as info:
        client.request("POST", LIST, json=new_invoice(sb))
    assert info.value.status_code == 201
    assert "not JSON" in str(info.value)


def test_accounting_error_envelope(sb: Sandbox, client: Client) -> None:
    with pytest.raises(NotFound) as info:
        client.request("GET", f"{LIST}/999999")
    err = info.value
    assert (err.status_code, err.errno, err.method) == (404, 1012, "GET")
    assert err.path == "/accounting/account/zDmNq/invoices/invoices/999999"
    assert err.errors and err.errors[0]["errno"] == 1012


def test_google_rpc_error_envelope(sb: Sandbox, client: Client) -> None:
    body = {
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
    sb.fail_next(404, body=body)
    with pytest.raises(NotFound) as info:
        client.request("GET", LIST)
    err = info.value
    assert (err.errno, err.field, err.message) == (1012, "userid", "Client not found.")
    assert "errno 1012" in str(err)


def test_success_without_result_layer(sb: Sandbox, client: Client) -> None:
    sb.fail_next(200, body={"response": {}}, method="PUT")
    assert client.request("PUT", f"{LIST}/1", json={"invoice": {"vis_state": 1}}) == {
        "response": {}
    }


def test_json_numbers_are_decimals(sb: Sandbox, client: Client) -> None:
    from decimal import Decimal

    sb.fail_next(200, body={"response": {"x": 1.10}})
    assert client.request("GET", LIST) == {"response": {"x": Decimal("1.1")}}


# --- logging and secrecy ---------------------------------------------------------------------


def test_debug_log_lines_and_no_token(sb: Sandbox, client: Client, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3's, oauthlib's
    sb.fail_next(503)
    client.request("GET", LIST, params={"page": 2, "per_page": 5})
    ours = [r.getMessage() for r in caplog.records if r.name == "freshbooks_orm"]
    assert any(
        "GET /accounting/account/zDmNq/invoices/invoices?page=2&per_page=5 -> 503" in line
        and "(retry 0)" in line
        for line in ours
    )
    assert any("-> 200 in" in line and "(retry 1)" in line for line in ours)
    assert sb.access_token not in caplog.text
    assert "Bearer" not in caplog.text


def test_secrets_never_reach_logs_errors_or_repr(sb: Sandbox, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    saved: list[dict[str, Any]] = []
    token = sb.issue_tokens()
    client = Client(
        token=token,
        account_id=sb.account_id,
        base_url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        redirect_uri=sb.redirect_uri,
        token_saver=saved.append,
        retry=FAST,
    )
    sb.expire_access_tokens()
    client.request("GET", LIST)  # 401, refresh, resend
    errors: list[BaseException] = []
    # A proxy that echoes the request headers into its error page.
    sb.fail_next(500, body=f"<html>Authorization: Bearer {client.tokens.access_token}</html>")
    sb.fail_next(404, body={"error": "x", "error_description": f"token {sb.client_secret}"})
    for _ in range(2):
        with pytest.raises(FreshBooksError) as info:
            client.request("GET", LIST)
        errors.append(info.value)
    assert len(saved) == 1
    secrets = [
        token["access_token"],
        token["refresh_token"],
        saved[0]["access_token"],
        saved[0]["refresh_token"],
        sb.client_secret,
    ]
    texts = [caplog.text, repr(client), repr(client.tokens), repr(client.session.auth)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text


# --- the rest of the client contract ---------------------------------------------------------


def test_url_has_no_io_with_a_known_account(sb: Sandbox, client: Client) -> None:
    url = client.url(LIST, [("search[v3_status]", "sent"), ("page", "2")])
    assert (
        url
        == f"{sb.url}/accounting/account/zDmNq/invoices/invoices?search%5Bv3_status%5D=sent&page=2"
    )
    assert sb.requests == []


def test_requests_carry_headers(sb: Sandbox) -> None:
    seen: list[requests.PreparedRequest] = []

    class Spy(requests.Session):
        def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
            seen.append(request)
            return super().send(request, **kw)

    client = sb.client(session=Spy())
    client.request("GET", LIST)
    client.request("POST", LIST, json=new_invoice(sb))
    get, post = seen
    assert get.headers["Authorization"] == f"Bearer {sb.access_token}"
    assert "Content-Type" not in get.headers
    assert post.headers["Content-Type"] == "application/json"
    assert get.headers["User-Agent"].startswith("freshbooks_orm/")


def test_repr_shows_no_token(sb: Sandbox, client: Client) -> None:
    assert repr(client) == (f"<Client account_id='zDmNq' base_url='{sb.url}' refreshable=False>")


# --- an answer cut off before its Content-Length -----------------------------------------


class CutOffServer:
    """Answers the first ``cut`` requests with a 200 whose body stops after ``sent`` of its
    bytes (the connection then closes, as when a server goes away mid-answer), then whole
    answers.  urllib3 2 reports such an answer itself; urllib3 1.26 returns the cut body as if
    it were whole, which is what this pins for both."""

    BODY = json.dumps({"response": {"result": {"invoice": {"id": 7, "notes": "whole"}}}}).encode()

    def __init__(self, cut: int, sent: int = 0) -> None:
        self.cut, self.sent, self.requests = cut, sent, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests += 1
                body = self.BODY[: self.sent] if self.requests <= self.cut else self.BODY
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(self.BODY)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )

    def client(self) -> Client:
        return Client(
            "cut-off-test-token", "zDmNq", base_url=f"http://127.0.0.1:{self.port}", retry=FAST
        )

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("sent", [0, 20])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_answer_cut_off_mid_body_is_a_dropped_connection_and_retried(
    method: str, sent: int
) -> None:
    server = CutOffServer(cut=1, sent=sent)
    try:
        body = server.client().request(method, f"{LIST}/7", json={"invoice": {}})
    finally:
        server.close()
    assert body["response"]["result"]["invoice"]["notes"] == "whole"
    assert server.requests == 2  # the cut answer was not taken for a whole one


def test_a_cut_off_answer_every_time_gives_up_with_no_status() -> None:
    server = CutOffServer(cut=100)
    try:
        with pytest.raises(TransportError) as info:
            server.client().request("GET", f"{LIST}/7")
    finally:
        server.close()
    assert info.value.status_code is None  # no usable answer: not "HTTP 200, empty body"
    assert "Connection broken" in str(info.value)
    assert server.requests == 4


def test_a_post_whose_answer_is_cut_off_is_never_resent() -> None:
    server = CutOffServer(cut=100, sent=10)
    try:
        with pytest.raises(UncertainWriteError):
            server.client().request("POST", LIST, json={"invoice": {}})
    finally:
        server.close()
    assert server.requests == 1
