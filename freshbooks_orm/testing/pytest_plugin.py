"""pytest plugin (the ``pytest11`` entry point): sandbox fixtures and cassette settings.

Fixtures:

``freshbooks_sandbox``
    A fresh embedded FreshBooks sandbox per test; size it with
    ``@pytest.mark.freshbooks_sandbox(invoices=200, seed=3)``.
``freshbooks_client``
    A ``Client`` for that sandbox, also made the default (``configure``) and exported as
    ``FRESHBOOKS_*`` environment variables for the test, so code under test that builds its own
    client, or FreshBooks' own SDK, talks to the sandbox too.
``freshbooks_cassette_client``
    A ``Client`` for a cassette test (pytest-recording's ``@pytest.mark.vcr``), made the default.
    When recording (``--record-mode`` other than ``none``) it is built from the real
    credentials in the environment (``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_ACCOUNT_ID``,
    ``FRESHBOOKS_API_URL``, ...); when replaying it uses placeholders and exports them as the
    ``FRESHBOOKS_*`` variables (the real ones are hidden), so the test needs no variable and no
    network, and code that builds its own client replays too.  Cassettes recorded with
    ``freshbooks_vcr_config`` file every request under ``https://api.freshbooks.com`` and
    account ``ACCOUNT_ID``, so they replay whatever host and account they were recorded with.
``freshbooks_vcr_config``
    Cassette settings that scrub tokens, secrets and account ids (see ``freshbooks_orm.testing``);
    return it from your ``vcr_config`` fixture when you use pytest-recording.

Every fixture above points ``$FRESHBOOKS_ORM_JOURNAL`` (the batch journal) and
``$FRESHBOOKS_ORM_TOKENS`` (the command line's token store) at files in a temporary directory for
the test, so tests never write to the user's real journal or token file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from . import REPLAY_VARIABLES, freshbooks_path_matcher, replay_client, vcr_config

if TYPE_CHECKING:
    from ..http.transport import Client
    from ..sandbox import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "freshbooks_sandbox(invoices=N, seed=S, **kw): size the freshbooks_sandbox fixture",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the ``freshbooks_path`` matcher, for configurations that still name it."""
    vcr.register_matcher("freshbooks_path", freshbooks_path_matcher)


def _isolate_user_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The journal and the token store in a temporary directory, for this test."""
    folder = tmp_path_factory.mktemp("freshbooks-orm-user-files")
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(folder / "journal.sqlite3"))
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", str(folder / "tokens.json"))


@pytest.fixture
def freshbooks_sandbox(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sandbox]:
    """A fresh embedded sandbox, stopped after the test (journal and tokens in a temp dir)."""
    from ..sandbox import Sandbox

    _isolate_user_files(monkeypatch, tmp_path_factory)

    marker = request.node.get_closest_marker("freshbooks_sandbox")
    options: dict[str, Any] = {"invoices": 30, "seed": 1}
    if marker is not None:
        options.update(marker.kwargs)
    with Sandbox(**options) as sandbox:
        yield sandbox


@pytest.fixture
def freshbooks_client(
    freshbooks_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    """A client of the sandbox, made the default and exported as FRESHBOOKS_* variables."""
    from ..http.transport import RetryPolicy, configure

    sandbox = freshbooks_sandbox
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sandbox.access_token)
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", sandbox.account_id)
    monkeypatch.setenv("FRESHBOOKS_API_URL", sandbox.url)
    client = sandbox.client(retry=RetryPolicy(backoff=0.01, max_retry_after=0.1))
    configure(client)
    try:
        yield client
    finally:
        configure(None)


_CREDENTIAL_VARIABLES = (
    "FRESHBOOKS_ACCESS_TOKEN",
    "FRESHBOOKS_ACCOUNT_ID",
    "FRESHBOOKS_API_URL",
    "FRESHBOOKS_CLIENT_ID",
    "FRESHBOOKS_CLIENT_SECRET",
    "FRESHBOOKS_REDIRECT_URI",
    "FRESHBOOKS_REFRESH_TOKEN",
)


def _record_mode(request: pytest.FixtureRequest) -> str:
    """pytest-recording's record mode for this test (``none`` without pytest-recording)."""
    mode: Any = None
    try:
        mode = request.config.getoption("--record-mode")
    except ValueError:  # pytest-recording is not installed
        return "none"
    if mode is None:
        marker = request.node.get_closest_marker("vcr")
        if marker is not None:
            mode = marker.kwargs.get("record_mode")
    if mode is None and "vcr_config" in request.fixturenames:
        mode = request.getfixturevalue("vcr_config").get("record_mode")
    return str(getattr(mode, "value", mode) or "none").lower()


@pytest.fixture
def freshbooks_cassette_client(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Client]:
    """Real credentials when recording, placeholders when replaying; made the default client."""
    from ..errors import ConfigurationError
    from ..http.transport import Client, configure

    _isolate_user_files(monkeypatch, tmp_path_factory)
    if _record_mode(request) == "none":
        for name in _CREDENTIAL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in REPLAY_VARIABLES.items():
            monkeypatch.setenv(name, value)
        client = replay_client()
    else:
        try:
            client = Client()
        except ConfigurationError as exc:
            pytest.fail(
                f"recording a cassette needs real credentials in the environment "
                f"(FRESHBOOKS_ACCESS_TOKEN, and FRESHBOOKS_ACCOUNT_ID unless the login has one "
                f"business; FRESHBOOKS_API_URL for another API root): {exc}",
                pytrace=False,
            )
    configure(client)
    try:
        yield client
    finally:
        configure(None)
        client.close()


@pytest.fixture(scope="session")
def freshbooks_vcr_config() -> dict[str, Any]:
    """vcrpy settings that keep secrets and account ids out of cassettes (one scrubber per
    session: a secret seen in one recording is replaced in every later one)."""
    return vcr_config()
