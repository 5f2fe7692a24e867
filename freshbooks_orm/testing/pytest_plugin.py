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
    It replays whenever vcrpy only replays the test's cassette (record mode ``none``, or
    ``once`` with the cassette on disk; the mode is the marker's, else ``vcr_config``'s, else
    ``--record-mode``): then it uses placeholders and exports them as the ``FRESHBOOKS_*``
    variables (the real ones are hidden), so the test needs no variable and no network, and code
    that builds its own client replays too.  When recording, it finds the real credentials as
    the command line does (``freshbooks_orm.cli.auth.make_client``: ``FRESHBOOKS_ACCESS_TOKEN``,
    else the token file of ``freshbooks-orm login``) and never refreshes a token it has nowhere
    to save: only the login's token file is refreshed (and the new pair saved there); an
    environment token that expires fails the test, saying to log in and record again.
    Cassettes recorded with ``freshbooks_vcr_config`` file every request under
    ``https://api.freshbooks.com`` and account ``ACCOUNT_ID``, so they replay whatever host and
    account they were recorded with.
``freshbooks_vcr_config``
    Cassette settings that scrub tokens, secrets and account ids (see ``freshbooks_orm.testing``);
    return it from your ``vcr_config`` fixture when you use pytest-recording.

Every fixture above, and every cassette test (marked ``vcr``, or using ``freshbooks_vcr_config``
through your ``vcr_config``), points ``$FRESHBOOKS_ORM_JOURNAL`` (the batch journal) and
``$FRESHBOOKS_ORM_TOKENS`` (the command line's token store) at files in a temporary directory for
the test, so tests never write to the user's real journal or token file.
"""

from __future__ import annotations

import os
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


@pytest.fixture
def freshbooks_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh embedded sandbox, stopped after the test (journal and tokens in a temp dir)."""
    from ..sandbox import Sandbox

    _isolate_user_files(request)

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
#: The user's own files, each pointed at a temporary directory for every cassette test.
_USER_FILE_VARIABLES = ("FRESHBOOKS_ORM_JOURNAL", "FRESHBOOKS_ORM_TOKENS")
#: What those variables were before a test isolated them (the recording client needs the
#: user's real token file: that is where the login, and a refreshed token, are kept).
_USER_FILES = pytest.StashKey[dict[str, "str | None"]]()


def _isolate_user_files(request: pytest.FixtureRequest) -> None:
    """The journal and the token store in a temporary directory, for this test (once)."""
    stash = request.node.stash
    if _USER_FILES in stash:
        return
    stash[_USER_FILES] = {name: os.environ.get(name) for name in _USER_FILE_VARIABLES}
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    folder = request.getfixturevalue("tmp_path_factory").mktemp("freshbooks-orm-user-files")
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(folder / "journal.sqlite3"))
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", str(folder / "tokens.json"))


def _uses_cassettes(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("vcr") is not None or any(
        name in request.fixturenames
        for name in ("freshbooks_vcr_config", "freshbooks_cassette_client")
    )


@pytest.fixture(autouse=True)
def _freshbooks_isolate_cassette_tests(request: pytest.FixtureRequest) -> None:
    """A cassette test (``@pytest.mark.vcr``, or one using ``freshbooks_vcr_config`` or
    ``freshbooks_cassette_client``) gets the journal and the token file in a temp dir."""
    if _uses_cassettes(request):
        _isolate_user_files(request)


def _replaying(request: pytest.FixtureRequest) -> bool:
    """Whether this test's cassette only replays, decided as vcrpy decides it.

    pytest-recording's ``vcr`` fixture is the test's cassette, built with its record mode (the
    ``vcr`` marker's, else ``vcr_config``'s, else ``--record-mode``, else ``none``); vcrpy
    refuses to record when that mode is ``none``, or ``once`` and the cassette was on disk
    (``Cassette.write_protected``).  A test with no cassette (no ``vcr`` marker, or plain vcrpy
    used inside the test) replays unless ``--disable-recording`` sends it to the network.
    """
    try:
        cassette = request.getfixturevalue("vcr")
    except pytest.FixtureLookupError:  # pytest-recording is not installed
        return True
    if cassette is not None:
        return bool(cassette.write_protected)
    return not request.config.getoption("--disable-recording", default=False)


def _recording_client() -> Client:
    """The user's client for recording, found as the command line finds it, and never one that
    would refresh a token it has nowhere to save (a refresh token works once)."""
    from ..cli.auth import make_client
    from ..errors import ConfigurationError

    try:
        client = make_client()
    except ConfigurationError as exc:
        pytest.fail(
            f"recording a cassette needs real credentials: {exc}. The plugin finds them as the "
            "command line does: FRESHBOOKS_ACCESS_TOKEN (and FRESHBOOKS_ACCOUNT_ID unless the "
            "login has one business; FRESHBOOKS_API_URL for another API root), else the token "
            "file of 'freshbooks-orm login'",
            pytrace=False,
        )
    if client.tokens.store is None and client.tokens.can_refresh:
        client.tokens.forbid_refresh(
            "refusing to refresh the access token while recording a cassette: "
            "freshbooks_cassette_client has nowhere to save the new refresh token, and "
            "FreshBooks refresh tokens work once (your FRESHBOOKS_REFRESH_TOKEN would be dead "
            "after this run). Log in with 'freshbooks-orm login' (the plugin then records with "
            "that token file and saves each refresh there), or export a fresh "
            "FRESHBOOKS_ACCESS_TOKEN, then record again"
        )
    return client


@pytest.fixture
def freshbooks_cassette_client(request: pytest.FixtureRequest) -> Iterator[Client]:
    """Real credentials when recording, placeholders when replaying; made the default client."""
    from ..http.transport import configure

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    _isolate_user_files(request)
    if _replaying(request):
        for name in _CREDENTIAL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in REPLAY_VARIABLES.items():
            monkeypatch.setenv(name, value)
        client = replay_client()
    else:
        with monkeypatch.context() as user:  # the user's own token file, not the test's
            for name, value in request.node.stash[_USER_FILES].items():
                if value is None:
                    user.delenv(name, raising=False)
                else:
                    user.setenv(name, value)
            client = _recording_client()
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
