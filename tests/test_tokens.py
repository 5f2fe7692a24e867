"""Tokens that survive: the file token store, clients sharing one refresh chain across processes,
and ``freshbooks-orm login``/``whoami``/``logout`` end to end against the sandbox (no browser:
the test fetches the printed URL, which redirects to the login's loopback receiver)."""

from __future__ import annotations

import copy
import json
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from freshbooks_orm import (
    AuthenticationError,
    Client,
    ConfigurationError,
    FileTokenStore,
    LockingTokenStore,
    RetryPolicy,
    TokenStore,
)
from freshbooks_orm.cli import main
from freshbooks_orm.http.auth import TOKEN_PATH
from freshbooks_orm.sandbox import Sandbox

FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)
LIST = "/accounting/account/{account_id}/invoices/invoices"
CREDENTIAL_VARS = (
    "FRESHBOOKS_ACCESS_TOKEN",
    "FRESHBOOKS_REFRESH_TOKEN",
    "FRESHBOOKS_CLIENT_ID",
    "FRESHBOOKS_CLIENT_SECRET",
    "FRESHBOOKS_REDIRECT_URI",
    "FRESHBOOKS_ACCOUNT_ID",
    "FRESHBOOKS_API_URL",
    "FRESHBOOKS_AUTHORIZE_URL",
)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=3, seed=5) as sandbox:
        yield sandbox


@pytest.fixture
def token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line's token file, in a directory that does not exist yet."""
    path = tmp_path / "config" / "freshbooks_orm" / "tokens.json"
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", str(path))
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))
    return path


def token_calls(sb: Sandbox) -> list[int]:
    return [r.status for r in sb.requests if r.path == TOKEN_PATH]


def store_client(sb: Sandbox, store: TokenStore, **kw: Any) -> Client:
    return Client(
        token_store=store,
        account_id=sb.account_id,
        base_url=sb.url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        redirect_uri=sb.redirect_uri,
        retry=FAST,
        **kw,
    )


# --- FileTokenStore --------------------------------------------------------------------------


def test_file_store_round_trip_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "tokens.json"
    store = FileTokenStore(path)
    assert store.load() is None
    assert not path.parent.exists()  # reading creates nothing
    store.save({"access_token": "a1", "refresh_token": "r1", "extra": 1})
    assert store.load() == {"access_token": "a1", "refresh_token": "r1", "extra": 1}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    store.save({"access_token": "a2"})
    assert store.load() == {"access_token": "a2"}
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert store.clear() is True and store.load() is None and store.clear() is False


def test_file_store_is_a_locking_token_store(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    assert isinstance(store, TokenStore) and isinstance(store, LockingTokenStore)
    with store.lock(), store.lock():  # re-entrant: load and save inside a held lock
        store.save({"access_token": "x"})
        assert store.load() == {"access_token": "x"}


def test_file_store_never_shows_its_token(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.save({"access_token": "SECRET-A", "refresh_token": "SECRET-R"})
    assert "SECRET" not in repr(store)
    data = pickle.dumps(store)
    assert b"SECRET" not in data
    assert pickle.loads(data).load()["access_token"] == "SECRET-A"
    store.path.write_text('{"access_token": "SECRET-A", broken')
    with pytest.raises(ConfigurationError, match="not valid JSON") as info:
        store.load()
    assert "SECRET" not in str(info.value)
    store.path.write_text('["SECRET-A"]')
    with pytest.raises(ConfigurationError, match="does not hold a token"):
        store.load()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_file_store_warns_about_a_readable_file(tmp_path: Path, caplog: Any) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.save({"access_token": "SECRET-A"})
    store.path.chmod(0o644)
    with caplog.at_level("WARNING", logger="freshbooks_orm"):
        assert store.load() == {"access_token": "SECRET-A"}
    assert "readable by other users" in caplog.text and "SECRET" not in caplog.text
    store.save({"access_token": "SECRET-B"})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600  # rewritten owner-only


@pytest.mark.skipif(os.name != "posix", reason="fcntl locks")
def test_file_store_lock_excludes_other_processes(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    probe = textwrap.dedent(
        """
        import fcntl, sys
        with open(sys.argv[1], "a+b") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("locked")
            else:
                print("free")
        """
    )

    def other_process_sees() -> str:
        run = subprocess.run(
            [sys.executable, "-c", probe, str(store.lock_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    with store.lock():
        assert other_process_sees() == "locked"
    assert other_process_sees() == "free"


# --- the client and its store ----------------------------------------------------------------


def test_client_takes_its_token_from_the_store_and_saves_refreshes(
    sb: Sandbox, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    with pytest.raises(ConfigurationError, match="holds no token"):
        store_client(sb, store)
    store.save({**sb.issue_tokens(), "note": "kept beside the token"})
    saved: list[dict[str, Any]] = []
    client = store_client(sb, store, token_saver=saved.append)
    assert client.request("GET", LIST)["response"]["result"]["total"] == 3
    before = store.load()
    assert before is not None
    sb.expire_access_tokens()
    assert client.request("GET", LIST)["response"]["result"]["total"] == 3
    after = store.load()
    assert after is not None
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] == client.tokens.access_token
    assert after["note"] == "kept beside the token"  # other keys survive a refresh
    assert [t["refresh_token"] for t in saved] == [after["refresh_token"]]  # token_saver too
    assert token_calls(sb) == [200]
    assert "SECRET" not in repr(client) and after["access_token"] not in repr(client)


def test_refreshing_through_a_store_logs_no_secret(
    sb: Sandbox, tmp_path: Path, caplog: Any
) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.save(sb.issue_tokens())
    other = FileTokenStore(store.path)
    with caplog.at_level("DEBUG", logger="freshbooks_orm"):
        first, second = store_client(sb, store), store_client(sb, other)
        sb.expire_access_tokens()
        first.request("GET", LIST)
        second.request("GET", LIST)  # adopts the first one's token from the store
    assert "refreshed the access token" in caplog.text and "adopted" in caplog.text
    token = store.load()
    assert token is not None
    for secret in (token["access_token"], token["refresh_token"], sb.client_secret):
        assert secret not in caplog.text


def test_a_second_client_adopts_the_refresh_of_the_first(sb: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    FileTokenStore(path).save(sb.issue_tokens())
    first = store_client(sb, FileTokenStore(path))
    second = store_client(sb, FileTokenStore(path))
    sb.expire_access_tokens()
    first.request("GET", LIST)
    second.request("GET", LIST)  # 401, re-reads the store: the first one's token, no refresh
    assert token_calls(sb) == [200]
    assert second.tokens.access_token == first.tokens.access_token
    assert second.tokens.refresh_count == 0


class DictStore:
    """A store with no lock (like a secrets manager), whose first read can be stale."""

    def __init__(self, token: Mapping[str, Any]) -> None:
        self.token = dict(token)
        self.stale_reads: list[dict[str, Any]] = []

    def load(self) -> dict[str, Any] | None:
        if self.stale_reads:
            return self.stale_reads.pop()
        return dict(self.token)

    def save(self, token: Mapping[str, Any]) -> None:
        self.token = dict(token)


def test_invalid_grant_rereads_the_store(sb: Sandbox) -> None:
    store = DictStore(sb.issue_tokens())
    assert isinstance(store, TokenStore) and not isinstance(store, LockingTokenStore)
    first = store_client(sb, store)
    second = store_client(sb, store)
    old = dict(store.token)
    sb.expire_access_tokens()
    first.request("GET", LIST)  # refreshes and saves
    # The second process read the store just before the first one saved (no lock to stop it):
    # it spends the dead refresh token, gets invalid_grant, re-reads, and goes on.
    store.stale_reads.append(old)
    assert second.request("GET", LIST)["response"]["result"]["total"] == 3
    assert token_calls(sb) == [200, 400]
    assert second.tokens.access_token == store.token["access_token"]


def test_without_a_newer_token_invalid_grant_is_raised(sb: Sandbox) -> None:
    token = sb.issue_tokens()
    store = DictStore(token)
    client = store_client(sb, store)
    other = store_client(sb, DictStore(token))  # another store: we never see its new token
    other.tokens.refresh(other._post_token, stale=other.tokens.access_token)
    sb.expire_access_tokens()
    with pytest.raises(AuthenticationError, match=r"invalid_grant|refresh token works once"):
        client.request("GET", LIST)


@pytest.mark.slow
def test_two_processes_share_one_refresh_chain(sb: Sandbox, tmp_path: Path) -> None:
    """Short-lived tokens force several refreshes; both processes keep working throughout."""
    sb.token_lifetime = 2  # refreshed a second before expiry: about once a second
    path = tmp_path / "tokens.json"
    FileTokenStore(path).save(sb.issue_tokens())
    script = textwrap.dedent(
        """
        import sys, time
        from freshbooks_orm import Client, FileTokenStore
        path, url, account, cid, secret, redirect, seconds = sys.argv[1:]
        client = Client(token_store=FileTokenStore(path), base_url=url, account_id=account,
                        client_id=cid, client_secret=secret, redirect_uri=redirect)
        deadline = time.time() + float(seconds)
        requests = 0
        while time.time() < deadline:
            client.request("GET", "/accounting/account/{account_id}/invoices/invoices",
                           params={"per_page": "1"})
            requests += 1
            time.sleep(0.02)
        print(requests, client.tokens.refresh_count)
        """
    )
    args = [str(path), sb.url, sb.account_id, sb.client_id, sb.client_secret, sb.redirect_uri]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args, "4.5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    counts = [tuple(int(n) for n in out.split()) for out, _ in results]
    refreshes = sum(c[1] for c in counts)
    assert all(c[0] > 10 for c in counts)
    assert refreshes >= 3, counts  # several refreshes, shared by the two
    statuses = token_calls(sb)
    assert statuses == [200] * refreshes  # one refresh per expiry, never an invalid_grant


def test_clients_and_token_managers_refuse_to_pickle(sb: Sandbox, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.save(sb.issue_tokens())
    client = store_client(sb, store)
    for thing in (client, client.tokens):
        with pytest.raises(TypeError, match="cannot be pickled") as info:
            pickle.dumps(thing)
        assert sb.client_secret not in str(info.value)
    with pytest.raises(TypeError, match="cannot be pickled"):
        copy.deepcopy(client)


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_never_refreshes_without_a_place_to_save(
    sb: Sandbox, token_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", sb.account_id)
    monkeypatch.setenv("FRESHBOOKS_CLIENT_ID", sb.client_id)
    monkeypatch.setenv("FRESHBOOKS_CLIENT_SECRET", sb.client_secret)
    monkeypatch.setenv("FRESHBOOKS_REFRESH_TOKEN", sb.refresh_token)
    assert main(["invoices", "list"]) == 2
    err = capsys.readouterr().err
    assert "refusing to refresh" in err and "freshbooks-orm login" in err
    assert "FRESHBOOKS_ORM_TOKENS" in err and sb.refresh_token not in err
    # With an access token it works until that token expires, then refuses the same way.
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token)
    assert main(["invoices", "list"]) == 0
    sb.expire_access_tokens()
    assert main(["invoices", "list"]) == 1
    err = capsys.readouterr().err
    assert "refusing to refresh" in err and sb.refresh_token not in err
    assert token_calls(sb) == []  # nothing was burnt
    assert not token_file.exists()


def test_not_logged_in(token_file: Path, capsys: Any) -> None:
    assert main(["whoami"]) == 2
    err = capsys.readouterr().err
    assert "no FreshBooks credentials" in err and "freshbooks-orm login" in err
    assert main(["logout"]) == 0
    assert "Not logged in" in capsys.readouterr().out


def start_login(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "freshbooks_orm", "login", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = ""
    timer = threading.Timer(30, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            if line.strip().startswith("http"):
                url = line.strip()
                break
    finally:
        timer.cancel()
    assert url, proc.communicate(timeout=5)
    return proc, url


@pytest.mark.slow
def test_login_whoami_refresh_logout_end_to_end(
    sb: Sandbox, token_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(FRESHBOOKS_API_URL=sb.url, FRESHBOOKS_CLIENT_SECRET=sb.client_secret)
    proc, url = start_login(
        env, "--client-id", sb.client_id, "--redirect-uri", "http://127.0.0.1:0/callback"
    )
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(sb.authorize_url)
    assert query["client_id"] == [sb.client_id] and query["response_type"] == ["code"]
    redirect_uri = query["redirect_uri"][0]
    assert urlsplit(redirect_uri).port not in (None, 0)
    # An answer with another state is refused, and the login keeps waiting for its own.
    forged = requests.get(redirect_uri, params={"code": "forged", "state": "other"}, timeout=10)
    assert forged.status_code == 400
    # The "browser": the sandbox approves at once and redirects to the receiver.
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and "Logged in" in answer.text
    assert answer.history[0].status_code == 302
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    stored = json.loads(token_file.read_text())
    assert stored["client_id"] == sb.client_id and stored["redirect_uri"] == redirect_uri
    assert stored["api_url"] == sb.url
    if os.name == "posix":
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    secrets = (stored["access_token"], stored["refresh_token"], sb.client_secret)
    assert not any(s in out + err for s in secrets)
    assert "Ada" in out or sb.account_id in out  # login shows who logged in
    assert [r.form["grant_type"] for r in sb.requests if r.path == TOKEN_PATH and r.form] == [
        "authorization_code"
    ]

    # Every other command uses the kept token, with no variable set.
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert sb.account_id in out and "owner" in out
    assert f"credentials token file {token_file}" in out
    assert main(["invoices", "list"]) == 0
    capsys.readouterr()

    # Expired tokens are refreshed and saved; day after day the chain stays alive.
    for day in range(3):
        sb.expire_access_tokens()
        assert main(["invoices", "list", "--format", "json"]) == 0, day
        assert len(json.loads(capsys.readouterr().out)) == 3
        now = json.loads(token_file.read_text())
        assert now["refresh_token"] != stored["refresh_token"]
        assert now["client_secret"] == sb.client_secret  # kept beside the token
        stored = now
    assert token_calls(sb) == [200] * 4  # the code exchange, then three refreshes

    # Two commands at once find the token expired: one refreshes, the other adopts its token.
    sb.expire_access_tokens()
    cli_env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "freshbooks_orm", "invoices", "list", "--limit", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env,
        )
        for _ in range(2)
    ]
    for proc in both:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert token_calls(sb) == [200] * 5  # one more refresh, no invalid_grant

    assert main(["logout"]) == 0
    assert "Logged out" in capsys.readouterr().out and not token_file.exists()
    assert main(["whoami"]) == 2


def test_login_refuses_without_client_credentials(token_file: Path, capsys: Any) -> None:
    assert main(["login"]) == 2
    assert "client id and secret" in capsys.readouterr().err


def test_login_refuses_a_redirect_it_cannot_receive(token_file: Path, capsys: Any) -> None:
    argv = ["login", "--client-id", "a", "--client-secret", "b", "--redirect-uri"]
    assert main([*argv, "https://example.com/cb"]) == 2
    assert "not on this machine" in capsys.readouterr().err


@pytest.mark.slow
def test_login_reports_a_refusal(
    sb: Sandbox, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user says no: the browser comes back with error=access_denied."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(FRESHBOOKS_CLIENT_ID="x", FRESHBOOKS_CLIENT_SECRET="y")
    proc, url = start_login(
        env,
        "--redirect-uri",
        "http://localhost:0/cb",
        "--authorize-url",
        "https://auth.example.com/oauth/authorize",
    )
    query = parse_qs(urlsplit(url).query)
    redirect_uri = query["redirect_uri"][0]
    assert redirect_uri.startswith("http://localhost:")
    answer = requests.get(
        redirect_uri.replace("localhost", "127.0.0.1"),
        params={"error": "access_denied", "state": query["state"][0]},
        timeout=10,
    )
    assert answer.status_code == 400
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "access_denied" in err
    assert not token_file.exists()
