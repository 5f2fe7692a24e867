"""Cassettes that replay anywhere and hold no secret (issue 14 point 4, issue 10 point 3), and
fixtures that never touch the user's journal or token file (issue 14 point 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import vcr
import yaml

from freshbooks_orm import Client, Invoice
from freshbooks_orm.sandbox import Sandbox
from freshbooks_orm.testing import (
    REDACTED,
    REPLAY_TOKEN,
    normalise_uri,
    replay_client,
    vcr_config,
)

# Credentials of a client whose server quotes them back in bodies and headers.
ACCESS = "echoed-access-token-0123456789"
REFRESH = "echoed-refresh-token-abcdefghij"
SECRET = "echoed-client-secret-ABCDEFGHIJ"
CODE = "echoed-authorization-code-XYZ123"
NEW_ACCESS = "second-access-token-9876543210"
NEW_REFRESH = "second-refresh-token-zyxwvutsrq"
ACCOUNT = "EchoAcct7"


class EchoHandler(BaseHTTPRequestHandler):
    """Answers like FreshBooks, but quotes every credential it was sent back to the client."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/auth/oauth/token"):
            status = 200
            payload: dict = {
                "access_token": NEW_ACCESS,
                "refresh_token": NEW_REFRESH,
                "token_type": "Bearer",
                "expires_in": 43200,
                "created_at": int(time.time()),
                "debug": f"you sent {body}",
            }
        elif auth == f"Bearer {ACCESS}":  # the first token has expired: a 401 that quotes it
            status = 401
            payload = {"error": "unauthenticated", "error_description": f"{auth} expired"}
        else:
            status = 200
            payload = {
                "response": {
                    "result": {
                        "invoice": {
                            "id": 7,
                            "invoiceid": 7,
                            "accountid": ACCOUNT,
                            "notes": f"seen {auth!r}, {body!r} at {self.path}",
                        }
                    }
                }
            }
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo", auth)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def record_echo_session(server: str, cassette: Path) -> None:
    recorder = vcr.VCR(**vcr_config(record_mode="all"))  # plain vcrpy: nothing to register
    with recorder.use_cassette(str(cassette)):
        client = Client(
            access_token=ACCESS,
            account_id=ACCOUNT,
            base_url=server,
            client_id="app-id",
            client_secret=SECRET,
            refresh_token=REFRESH,
            redirect_uri="https://example.com/callback",
            token_saver=lambda token: None,
        )
        inv = Invoice.objects.using(client).get(7)  # 401 quoting the token, refresh, GET again
        inv.notes = "changed"
        inv.save()  # the PUT's answer quotes the new token and the body
        # A JSON token request, as FreshBooks' own SDK sends it: its ``code`` is a secret.
        requests.post(
            server + "/auth/oauth/token",
            json={
                "grant_type": "authorization_code",
                "code": CODE,
                "client_id": "app-id",
                "client_secret": SECRET,
                "redirect_uri": "https://example.com/callback",
            },
            timeout=10,
        ).raise_for_status()
        client.close()


def test_cassette_of_a_server_that_echoes_secrets_holds_none(echo_server, tmp_path):
    cassette = tmp_path / "echo.yaml"
    record_echo_session(echo_server, cassette)
    text = cassette.read_text()
    data = yaml.safe_load(text)
    assert len(data["interactions"]) == 5  # 401, token refresh, GET, PUT, JSON token request
    for secret in (ACCESS, REFRESH, SECRET, CODE, NEW_ACCESS, NEW_REFRESH, ACCOUNT):
        assert secret not in text, secret
    assert "127.0.0.1" not in text  # filed under https://api.freshbooks.com
    assert {i["request"]["uri"].split("/")[2] for i in data["interactions"]} == {
        "api.freshbooks.com"
    }
    json_token = json.loads(data["interactions"][-1]["request"]["body"])
    assert json_token["code"] == REDACTED and json_token["client_id"] == "CLIENT_ID"
    echoed = data["interactions"][2]["response"]
    assert echoed["headers"]["X-Echo"] == [f"Bearer {REDACTED}"]
    assert "ACCOUNT_ID" in data["interactions"][2]["request"]["uri"]


def test_a_recorded_401_and_refresh_replay_with_the_placeholder_client(echo_server, tmp_path):
    cassette = tmp_path / "echo.yaml"
    record_echo_session(echo_server, cassette)
    # No server needed: every request below must come from the cassette (record_mode none).
    with vcr.VCR(**vcr_config(record_mode="none")).use_cassette(str(cassette)) as played:
        client = replay_client()
        inv = Invoice.objects.using(client).get(7)  # the 401, the refresh, the GET
        inv.notes = "changed"
        inv.save()
        assert client.tokens.access_token == REDACTED  # the replayed (scrubbed) token
    assert played.play_count == 4


def test_plain_vcr_replays_a_sandbox_recording_for_another_host_and_account(tmp_path):
    cassette = tmp_path / "sandbox.yaml"
    with Sandbox(invoices=5, seed=3) as sb:
        with vcr.VCR(**vcr_config(record_mode="all")).use_cassette(str(cassette)):
            client = sb.client()
            recorded = [inv.id for inv in Invoice.objects.using(client).order_by("-create_date")]
            client.close()
        secrets = (sb.access_token, sb.account_id, sb.url)
    text = cassette.read_text()
    for secret in secrets:
        assert secret not in text
    # The server is gone; a client of another host and account replays the cassette.
    with vcr.VCR(**vcr_config(record_mode="none")).use_cassette(str(cassette)):
        other = Client(REPLAY_TOKEN, "Other12", base_url="https://example.invalid:9")
        replayed = [inv.id for inv in Invoice.objects.using(other).order_by("-create_date")]
    assert replayed == recorded and len(recorded) == 5


def test_normalise_uri_files_freshbooks_requests_under_one_origin():
    assert (
        normalise_uri("http://127.0.0.1:8765/accounting/account/zDmNq/invoices/invoices?page=1")
        == "https://api.freshbooks.com/accounting/account/ACCOUNT_ID/invoices/invoices?page=1"
    )
    assert normalise_uri("http://localhost:1/auth/oauth/token").startswith(
        "https://api.freshbooks.com/auth/"
    )
    # Other services keep their host; a configured API root is recognised by its origin.
    assert normalise_uri("https://example.com/other?x=1") == "https://example.com/other?x=1"
    assert normalise_uri("http://proxy:81/v1/x", ["http://proxy:81"]).startswith(
        "https://api.freshbooks.com/v1/x"
    )


# --- record with pytest-recording against a served sandbox, replay with nothing -----------------

INNER_CONFTEST = """
import pytest


@pytest.fixture(scope="module")
def vcr_config(freshbooks_vcr_config):
    return freshbooks_vcr_config
"""

INNER_TESTS = """
import os
from pathlib import Path

import pytest

from freshbooks_orm import Client, Invoice


@pytest.mark.vcr
def test_report(freshbooks_cassette_client):
    drafts = Invoice.objects.filter(v3_status="draft").order_by("-create_date")
    first = drafts.first()
    first.notes = "recorded"
    first.save()
    # Code under test that builds its own client from the environment replays too.
    again = Invoice.objects.using(Client()).get(first.id)
    assert again.notes == "recorded"
    print("REPORT", drafts.count(), first.id)


def test_batch_writes_a_temporary_journal(freshbooks_client):
    journal = Path(os.environ["FRESHBOOKS_ORM_JOURNAL"])
    tokens = Path(os.environ["FRESHBOOKS_ORM_TOKENS"])
    home = Path.home()
    assert home not in journal.parents and home not in tokens.parents
    result = Invoice.objects.filter(v3_status="draft").update(notes="batch", progress=False)
    assert result.done >= 1
    assert journal.exists()
"""


def _run_inner(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_record_against_a_sandbox_then_replay_with_no_server_and_no_variables(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(textwrap.dedent(INNER_CONFTEST))
    (project / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    home = tmp_path / "home"
    home.mkdir()
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FRESHBOOKS_") and k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")
    }
    base_env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")

    with Sandbox(invoices=12, seed=4) as sb:
        record_env = {
            **base_env,
            "FRESHBOOKS_ACCESS_TOKEN": sb.access_token,
            "FRESHBOOKS_ACCOUNT_ID": sb.account_id,
            "FRESHBOOKS_API_URL": sb.url,
        }
        recorded = _run_inner(project, record_env, "--record-mode=once")
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        secrets = (sb.access_token, sb.account_id, sb.url, sb.refresh_token, sb.client_secret)

    cassettes = list((project / "cassettes").rglob("*.yaml"))
    assert len(cassettes) == 1
    text = cassettes[0].read_text()
    for secret in secrets:
        assert secret not in text
    assert "api.freshbooks.com/accounting/account/ACCOUNT_ID/" in text

    # The sandbox is stopped and no FRESHBOOKS_* variable is set: replay (the default mode).
    replayed = _run_inner(project, base_env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "2 passed" in replayed.stdout
    report = [line for line in recorded.stdout.splitlines() if line.startswith("REPORT")]
    assert report and report == [
        line for line in replayed.stdout.splitlines() if line.startswith("REPORT")
    ]
    # Neither run wrote to the user's journal or token file (the data and config folders).
    assert not [p for p in home.rglob("*") if "freshbooks" in p.name.lower()]


@pytest.mark.slow
def test_recording_without_credentials_says_what_to_set(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(textwrap.dedent(INNER_CONFTEST))
    (project / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESHBOOKS_")}
    env["HOME"] = str(tmp_path)
    result = _run_inner(project, env, "--record-mode=once", "-k", "test_report")
    assert result.returncode == 1
    assert "recording a cassette needs real credentials" in result.stdout
    assert not (project / "cassettes").exists() or not list((project / "cassettes").rglob("*"))
