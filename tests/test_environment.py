"""Environment-derived settings: read once per client and host, and a user's proxy variables
still work.  A loopback stub proxy relays to the sandbox and records what went through it."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from freshbooks_orm import Invoice
from freshbooks_orm.sandbox import Sandbox


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _StubProxy

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_GET(self) -> None:
        self.server.seen.append(self.path)  # a proxy is sent the absolute URL
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""),
                         headers=headers)  # fmt: skip
        answer = upstream.getresponse()
        body = answer.read()
        upstream.close()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _StubProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[_StubProxy]:
    stub = _StubProxy()
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.shutdown()
    stub.server_close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    return monkeypatch


def test_a_users_proxy_variable_is_used(proxy: _StubProxy, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    with Sandbox(invoices=120, seed=3) as sb, sb.client() as client:
        assert client.session.trust_env is False  # the client reads the environment itself
        n = Invoice.objects.using(client).count()
        assert len(list(Invoice.objects.using(client).all())) == n > 100
        assert len(proxy.seen) == 3  # the count, then two pages: every request went through
        assert all(seen.startswith(sb.url + "/accounting/") for seen in proxy.seen)


def test_no_proxy_is_honoured(proxy: _StubProxy, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", "127.0.0.1")
    with Sandbox(invoices=5, seed=3) as sb, sb.client() as client:
        assert Invoice.objects.using(client).count() == 5
    assert proxy.seen == []


def test_settings_are_read_once_per_client(
    proxy: _StubProxy, clean_env: pytest.MonkeyPatch
) -> None:
    with Sandbox(invoices=5, seed=3) as sb, sb.client() as direct:
        assert direct.request("GET", "/accounting/account/{account_id}/invoices/invoices")
        clean_env.setenv("HTTP_PROXY", proxy.url)  # set after this client first talked
        direct.request("GET", "/accounting/account/{account_id}/invoices/invoices")
        assert proxy.seen == []  # read once: this client keeps going direct
        with sb.client() as later:
            later.request("GET", "/accounting/account/{account_id}/invoices/invoices")
        assert len(proxy.seen) == 1  # a client built afterwards reads the new setting


def test_a_ca_bundle_variable_is_used(clean_env: pytest.MonkeyPatch) -> None:
    from freshbooks_orm import Client

    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    client = Client("token", "acct")
    assert client._environment_for("https://api.freshbooks.com/x") == (
        None,
        "/etc/ssl/company-ca.pem",
    )
    clean_env.delenv("REQUESTS_CA_BUNDLE")
    assert client._environment_for("https://api.freshbooks.com/y")[1] == "/etc/ssl/company-ca.pem"
    assert Client("token", "acct")._environment_for("https://api.freshbooks.com/x") == (None, None)


def test_a_session_passed_in_keeps_its_own_environment_handling(clean_env: Any) -> None:
    import requests

    from freshbooks_orm import Client

    session = requests.Session()
    client = Client("token", "acct", session=session)
    assert session.trust_env is True
    assert client._environment_for("https://api.freshbooks.com/x") == (None, None)
