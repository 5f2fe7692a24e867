"""The sandbox as a server under hostile or broken clients (issue 10 point 5).

Every case gets a FreshBooks error envelope with an errno (or, for connections that stall or
idle, a timely close); never a 500, a hang or a dropped connection without an answer.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import authed_session, invoices_url

from freshbooks_orm.sandbox import Sandbox


@pytest.fixture
def tight() -> Iterator[Sandbox]:
    with Sandbox(invoices=20, seed=2, idle_timeout=0.5, max_connections=6, max_body=4096) as sb:
        yield sb


def raw_request(sb: Sandbox, data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], Any]:
    """Send raw bytes on a fresh connection; the parsed answer (status, headers, JSON body)."""
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as sock:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(body)


def head(sb: Sandbox, method: str, path: str, extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sb.access_token}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def path_of(sb: Sandbox, rest: str = "invoices/invoices") -> str:
    return f"/accounting/account/{sb.account_id}/{rest}"


def errno_of(body: Any) -> int:
    errors = body["response"]["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"errno", "field", "message", "object", "value"}
    return int(errors[0]["errno"])


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


# --------------------------------------------------------------------------- connections


def test_idle_keep_alive_connections_time_out(tight: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", tight.port)) as sock:
        started = time.monotonic()
        assert closed_within(sock, 5)
        assert time.monotonic() - started < 3


def test_stalled_headers_time_out(tight: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", tight.port)) as sock:
        sock.sendall(b"GET /accounting/account/x/invoices/invoices HTTP/1.1\r\nHost: x\r\n")
        assert closed_within(sock, 5)


def test_stalled_body_is_answered_408_then_closed(tight: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", tight.port), timeout=5) as sock:
        sock.sendall(head(tight, "POST", path_of(tight), "Content-Length: 100\r\n") + b'{"inv')
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        assert resp.status == 408 and errno_of(json.loads(resp.read())) == 1000
        assert resp.getheader("Connection") == "close"
    assert len(tight.invoices) == 20


def test_threads_are_bounded_and_excess_connections_get_503(tight: Sandbox) -> None:
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", tight.port)) for _ in range(6)]
    try:
        time.sleep(0.2)  # let the server accept them all
        status, headers, body = raw_request(tight, head(tight, "GET", path_of(tight)))
        assert status == 503 and headers["retry-after"] == "1" and errno_of(body) == 1000
        more = [socket.create_connection(("127.0.0.1", tight.port)) for _ in range(30)]
        time.sleep(0.2)
        assert threading.active_count() <= before + 6
        for sock in more:
            sock.close()
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.3)
    with authed_session(tight) as s:  # capacity comes back once they are gone
        assert s.get(invoices_url(tight)).status_code == 200


# --------------------------------------------------------------------------- bodies


def test_chunked_body_is_read(tight: Sandbox) -> None:
    customer = next(iter(tight.store.customers))
    payload = json.dumps({"invoice": {"customerid": customer, "create_date": "2025-01-02"}})

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 7):
            yield payload[i : i + 7].encode()

    with authed_session(tight) as s:
        r = s.post(invoices_url(tight), data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["response"]["result"]["invoice"]["create_date"] == "2025-01-02"
    assert tight.requests[-1].json == json.loads(payload)


def test_chunked_body_with_extensions_and_trailers(tight: Sandbox) -> None:
    body = b'{"invoice":{"notes":"x"}}'
    iid = next(iter(tight.invoices))
    data = head(tight, "PUT", f"{path_of(tight)}/{iid}", "Transfer-Encoding: chunked\r\n")
    data += f"{len(body):x};ext=1\r\n".encode() + body + b"\r\n0\r\nX-Trailer: y\r\n\r\n"
    status, _, answer = raw_request(tight, data)
    assert status == 200 and answer["response"]["result"]["invoice"]["notes"] == "x"


def test_malformed_chunked_body_is_400_and_never_a_second_request(tight: Sandbox) -> None:
    before = len(tight.requests)
    smuggled = b"GET /accounting/account/x/invoices/invoices HTTP/1.1\r\nHost: x\r\n\r\n"
    data = head(tight, "POST", path_of(tight), "Transfer-Encoding: chunked\r\n")
    status, headers, body = raw_request(tight, data + b"zz\r\n" + smuggled)
    assert status == 400 and errno_of(body) == 1004 and headers["connection"] == "close"
    assert len(tight.requests) == before + 1  # the smuggled request was never parsed


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_bodies_get_413(tight: Sandbox, chunked: bool) -> None:
    big = b'{"invoice":{"notes":"' + b"x" * 5000 + b'"}}'
    if chunked:
        data = head(tight, "POST", path_of(tight), "Transfer-Encoding: chunked\r\n")
        data += f"{len(big):x}\r\n".encode() + big + b"\r\n0\r\n\r\n"
    else:
        data = head(tight, "POST", path_of(tight), f"Content-Length: {len(big)}\r\n") + big
    status, headers, body = raw_request(tight, data)
    assert status == 413 and errno_of(body) == 1000 and headers["connection"] == "close"
    assert "4096" in body["response"]["errors"][0]["message"]
    assert len(tight.invoices) == 20


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ("Content-Length: abc\r\n", 400),
        ("Content-Length: -5\r\n", 400),
        ("Transfer-Encoding: gzip\r\n", 501),
    ],
)
def test_bad_framing_headers(tight: Sandbox, extra: str, status: int) -> None:
    got, _, body = raw_request(tight, head(tight, "POST", path_of(tight), extra))
    assert got == status and errno_of(body) in (1000, 1004)


# --------------------------------------------------------------------------- JSON and numbers


@pytest.fixture(scope="module")
def rob() -> Iterator[Sandbox]:
    with Sandbox(invoices=30, seed=6) as sb:
        yield sb


@pytest.fixture
def rs(rob: Sandbox) -> Iterator[requests.Session]:
    with authed_session(rob) as s:
        s.headers["Content-Type"] = "application/json"
        yield s


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,  # beyond Python's recursion limit
        '{"invoice":' + '{"a":' * 100 + "1" + "}" * 100 + "}",  # deeper than 64 levels
        '{"invoice": {"discount_value": NaN}}',
        '{"invoice": {"discount_value": -Infinity}}',
        '{"invoice": {"customerid": ' + "9" * 5000 + "}}",  # > 4300 digits
        '{"invoice": ',
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_unparsable_bodies_are_400_errno_1005(rob: Sandbox, rs: requests.Session, raw: str) -> None:
    before = rob.invoices
    r = rs.post(invoices_url(rob), data=raw.encode("latin-1"))
    assert r.status_code == 400 and errno_of(r.json()) == 1005
    assert rob.invoices == before
    assert rs.get(invoices_url(rob)).status_code == 200  # the connection and server live on


@pytest.mark.parametrize(
    ("raw_fields", "errno", "field"),
    [
        ('"discount_value": 1e999999999', 1015, "discount_value"),
        ('"discount_value": "1e999999999"', 1015, "discount_value"),
        ('"deposit_percentage": 1e30', 1015, "deposit_percentage"),
        ('"due_offset_days": 1e9', 1004, "due_offset_days"),
        ('"due_offset_days": ' + "9" * 4000, 1015, "due_offset_days"),
        ('"customerid": ' + "9" * 4000, 1015, "customerid"),
        ('"lines": [{"qty": 1e30}]', 1015, "lines[0].qty"),
        ('"lines": [{"unit_cost": {"amount": "1e30", "code": "USD"}}]', 1015, "lines[0].unit_cost"),
        ('"lines": [{"taxAmount1": 1e400}]', 1015, "lines[0].taxAmount1"),
    ],
)
def test_out_of_range_numbers_are_422(
    rob: Sandbox, rs: requests.Session, raw_fields: str, errno: int, field: str
) -> None:
    customer = next(iter(rob.store.customers))
    raw = f'{{"invoice": {{"customerid": {customer}, "create_date": "2025-01-01", {raw_fields}}}}}'
    if raw_fields.startswith('"customerid"'):
        raw = f'{{"invoice": {{"create_date": "2025-01-01", {raw_fields}}}}}'
    before = rob.invoices
    r = rs.post(invoices_url(rob), data=raw)
    assert r.status_code == 422, r.text
    err = r.json()["response"]["errors"][0]
    assert (err["errno"], err["field"]) == (errno, field)
    assert len(err["value"] or "") <= 203  # a huge value is never echoed whole
    assert rob.invoices == before
    iid = next(iter(rob.invoices))
    r = rs.put(invoices_url(rob, iid), data=raw)
    assert r.status_code == 422 and rob.invoices == before


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("page", "9" * 5000),
        ("per_page", "9" * 5000),
        ("search[customerid]", "9" * 5000),
        ("search[customerids][]", "9" * 5000),
        ("search[total_min]", "1e999999999"),
        ("search[total_min]", "9" * 5000),
        ("search[date_min]", "9" * 5000),
    ],
)
def test_huge_query_values_are_400(
    rob: Sandbox, rs: requests.Session, where: str, value: str
) -> None:
    r = rs.get(invoices_url(rob), params={where: value})
    assert r.status_code == 400
    assert errno_of(r.json()) in (1004, 1013, 1014)


def test_huge_ids_in_paths_are_404(rob: Sandbox, rs: requests.Session) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = rs.request(method, invoices_url(rob, int("9" * 400)), json={"invoice": {}})
        assert r.status_code == 404 and errno_of(r.json()) == 1012
    r = rs.get(f"{rob.url}/accounting/account/{rob.account_id}/payments/payments/{'9' * 5000}")
    assert r.status_code == 404
