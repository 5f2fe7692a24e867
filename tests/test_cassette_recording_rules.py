"""What recording with the plugin may do (audit, round 2): never spend a refresh token it cannot
save, replay without credentials whenever vcrpy only replays, keep authorization codes out of
URIs and redirects (even when learnt after the interaction that shows one), and keep every
cassette test away from the user's journal and token file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
import vcr
import yaml

from freshbooks_orm.http.auth import authorization_url, exchange_code
from freshbooks_orm.http.tokens import FileTokenStore
from freshbooks_orm.sandbox import Sandbox
from freshbooks_orm.testing import REDACTED, vcr_config

# --- secrets in URIs and redirects -----------------------------------------------------------


def test_a_redirect_s_authorization_code_and_a_code_in_a_uri_never_reach_the_cassette(tmp_path):
    cassette = tmp_path / "oauth.yaml"
    recorder = vcr.VCR(**vcr_config(record_mode="all"))
    with Sandbox(invoices=1, seed=1) as sb, recorder.use_cassette(str(cassette)):
        url = authorization_url(
            sb.client_id, sb.redirect_uri, state="st8-kept", authorize_url=sb.authorize_url
        )
        answer = requests.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code == 302
        code = answer.headers["Location"].split("code=")[1].split("&")[0]
        # A request URI that carries a code (a callback handler under test, say).
        other = sb.authorization_code()
        requests.get(f"{sb.url}/callback?code={other}&state=st8-kept", timeout=10)
        exchange_code(
            code,
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            redirect_uri=sb.redirect_uri,
            base_url=sb.url,
        )
    text = cassette.read_text()
    assert code not in text and other not in text
    interactions = yaml.safe_load(text)["interactions"]
    location = interactions[0]["response"]["headers"]["Location"][0]
    assert f"code={REDACTED}" in location and "state=st8-kept" in location  # state is no secret
    assert f"code={REDACTED}&state=st8-kept" in interactions[1]["request"]["uri"]


@pytest.mark.skipif(
    "before_save_interaction" not in vcr_config(),
    reason="this vcrpy has no before_save_interaction hook (vcrpy < 9, Python 3.10)",
)
def test_a_secret_learnt_later_is_scrubbed_from_interactions_recorded_before_it(tmp_path):
    cassette = tmp_path / "later.yaml"
    with Sandbox(invoices=1, seed=1) as sb:
        code = sb.authorization_code()
        with vcr.VCR(**vcr_config(record_mode="all")).use_cassette(str(cassette)):
            # Nothing marks this text as a secret yet: only the token request below does.
            requests.post(f"{sb.url}/notes", data=f"pasted {code} here", timeout=10)
            exchange_code(
                code,
                client_id=sb.client_id,
                client_secret=sb.client_secret,
                redirect_uri=sb.redirect_uri,
                base_url=sb.url,
            )
    text = cassette.read_text()
    assert code not in text
    first = yaml.safe_load(text)["interactions"][0]["request"]["body"]
    assert first == f"pasted {REDACTED} here"


# --- the journal and the token file of cassette tests ----------------------------------------


def _isolated(name: str) -> Path:
    path = Path(os.environ[name])
    assert path.parent.name.startswith("freshbooks-orm-user-files"), path
    return path


def test_a_test_using_only_freshbooks_vcr_config_gets_a_temporary_journal(freshbooks_vcr_config):
    assert _isolated("FRESHBOOKS_ORM_JOURNAL").parent == _isolated("FRESHBOOKS_ORM_TOKENS").parent


@pytest.mark.vcr
def test_a_vcr_marked_test_gets_a_temporary_journal_and_token_file():
    assert _isolated("FRESHBOOKS_ORM_JOURNAL").parent == _isolated("FRESHBOOKS_ORM_TOKENS").parent


def test_a_test_without_cassettes_is_left_alone():
    assert not Path(os.environ["FRESHBOOKS_ORM_TOKENS"]).parent.name.startswith(
        "freshbooks-orm-user-files"
    )


# --- recording and replaying with pytest-recording, in a project of the user's -------------------

CONFTEST = """
import pytest


@pytest.fixture(scope="module")
def vcr_config(freshbooks_vcr_config):
    return freshbooks_vcr_config
"""

TESTS = """
import os

import pytest

from freshbooks_orm import Invoice


@pytest.mark.vcr
def test_report(freshbooks_cassette_client):
    assert os.environ["FRESHBOOKS_ORM_TOKENS"] != os.environ.get("USER_TOKENS")
    print("REPORT", Invoice.objects.filter(v3_status="draft").count())


@pytest.mark.vcr(record_mode="none")
@pytest.mark.default_cassette("test_report.yaml")
def test_marker_says_replay(freshbooks_cassette_client):
    print("REPORT", Invoice.objects.filter(v3_status="draft").count())
"""


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (project / "test_inner.py").write_text(textwrap.dedent(TESTS))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FRESHBOOKS_") and k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")
    }
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return project, env


def _run(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _reports(result: subprocess.CompletedProcess) -> list[str]:
    return re.findall(r"REPORT \d+", result.stdout)


@pytest.mark.slow
def test_replaying_needs_no_credentials_whatever_the_record_mode_says(tmp_path):
    project, env = _project(tmp_path)
    with Sandbox(invoices=8, seed=2) as sb:
        record_env = {
            **env,
            "FRESHBOOKS_ACCESS_TOKEN": sb.access_token,
            "FRESHBOOKS_ACCOUNT_ID": sb.account_id,
            "FRESHBOOKS_API_URL": sb.url,
        }
        recorded = _run(project, record_env, "--record-mode=once", "-k", "test_report")
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # No server, no variable: "once" with the cassette on disk only replays (vcrpy refuses to
    # record), and the marker's "none" wins over "--record-mode=all" as pytest-recording has it.
    once = _run(project, env, "--record-mode=once")
    assert once.returncode == 0, once.stdout + once.stderr
    assert "2 passed" in once.stdout and _reports(once) == _reports(recorded) * 2
    marker = _run(project, env, "--record-mode=all", "-k", "test_marker_says_replay")
    assert marker.returncode == 0, marker.stdout + marker.stderr
    assert _reports(marker) == _reports(recorded)


@pytest.mark.slow
def test_recording_never_spends_a_refresh_token_it_cannot_save(tmp_path):
    project, env = _project(tmp_path)
    with Sandbox(invoices=8, seed=2) as sb:
        record_env = {
            **env,
            "FRESHBOOKS_ACCESS_TOKEN": sb.access_token,
            "FRESHBOOKS_ACCOUNT_ID": sb.account_id,
            "FRESHBOOKS_API_URL": sb.url,
            "FRESHBOOKS_REFRESH_TOKEN": sb.refresh_token,
            "FRESHBOOKS_CLIENT_ID": sb.client_id,
            "FRESHBOOKS_CLIENT_SECRET": sb.client_secret,
            "FRESHBOOKS_REDIRECT_URI": sb.redirect_uri,
        }
        sb.expire_access_tokens()  # the 12-hour access token has expired
        refused = _run(project, record_env, "--record-mode=once", "-k", "test_report")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "refusing to refresh" in refused.stdout
        assert "freshbooks-orm login" in refused.stdout
        assert not [r for r in sb.requests if r.path.endswith("/token")], "nothing was spent"
        # The user's refresh token still works.
        still = requests.post(
            sb.url + "/auth/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": sb.client_id,
                "client_secret": sb.client_secret,
                "refresh_token": sb.refresh_token,
                "redirect_uri": sb.redirect_uri,
            },
            timeout=10,
        )
        assert still.status_code == 200, still.text


@pytest.mark.slow
def test_recording_with_the_command_line_s_login_refreshes_and_saves_in_its_token_file(tmp_path):
    project, env = _project(tmp_path)
    user_tokens = tmp_path / "config" / "tokens.json"
    with Sandbox(invoices=8, seed=2) as sb:
        first = sb.issue_tokens()
        # What `freshbooks-orm login` leaves behind: the token and the app beside it.
        FileTokenStore(user_tokens).save(
            {
                **first,
                "client_id": sb.client_id,
                "client_secret": sb.client_secret,
                "redirect_uri": sb.redirect_uri,
                "api_url": sb.url,
                "account_id": sb.account_id,
            }
        )
        sb.expire_access_tokens()
        record_env = {
            **env,
            "FRESHBOOKS_ORM_TOKENS": str(user_tokens),
            "USER_TOKENS": str(user_tokens),
        }
        recorded = _run(project, record_env, "--record-mode=once", "-k", "test_report")
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        saved = json.loads(user_tokens.read_text())
        assert saved["refresh_token"] != first["refresh_token"]  # refreshed, and kept
        assert saved["client_id"] == sb.client_id
        assert [r.path for r in sb.requests if r.path.endswith("/token")] == ["/auth/oauth/token"]
        text = next((project / "cassettes").rglob("*.yaml")).read_text()
        for secret in (first["access_token"], first["refresh_token"], sb.client_secret):
            assert secret not in text
        assert saved["access_token"] not in text and saved["refresh_token"] not in text
