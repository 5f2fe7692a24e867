"""pytest plugin (the ``pytest11`` entry point): sandbox fixtures and cassette settings.

Fixtures:

``freshbooks_sandbox``
    A fresh embedded FreshBooks sandbox per test; size it with
    ``@pytest.mark.freshbooks_sandbox(invoices=200, seed=3)``.
``freshbooks_client``
    A ``Client`` for that sandbox, also made the default (``configure``) and exported as
    ``FRESHBOOKS_*`` environment variables for the test, so code under test that builds its own
    client, or FreshBooks' own SDK, talks to the sandbox too.
``freshbooks_vcr_config``
    Cassette settings that scrub tokens, secrets and account ids (see ``freshbooks_orm.testing``);
    return it from your ``vcr_config`` fixture when you use pytest-recording.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .testing import freshbooks_path_matcher, vcr_config

if TYPE_CHECKING:
    from .sandbox import Sandbox
    from .transport import Client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "freshbooks_sandbox(invoices=N, seed=S, **kw): size the freshbooks_sandbox fixture",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Let cassettes use the ``freshbooks_path`` matcher (account ids normalised)."""
    vcr.register_matcher("freshbooks_path", freshbooks_path_matcher)


@pytest.fixture
def freshbooks_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh embedded sandbox, stopped after the test."""
    from .sandbox import Sandbox

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
    from .transport import RetryPolicy, configure

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


@pytest.fixture(scope="session")
def freshbooks_vcr_config() -> dict[str, Any]:
    """vcrpy settings that keep secrets and account ids out of cassettes."""
    return vcr_config()
