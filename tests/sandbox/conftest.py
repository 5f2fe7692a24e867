"""Fixtures for the sandbox tests: every test talks to a real loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import authed_session

from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """A read-only 200-invoice sandbox shared by a module (tests must not write to it)."""
    with Sandbox(invoices=200, seed=1) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def data(sb: Sandbox) -> dict[int, dict[str, Any]]:
    return sb.invoices


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    """A private writable sandbox."""
    with Sandbox(invoices=60, seed=3, extra_accounts=("AbC12",)) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[requests.Session]:
    with authed_session(sb) as s:
        yield s


@pytest.fixture
def fhttp(fresh: Sandbox) -> Iterator[requests.Session]:
    with authed_session(fresh) as s:
        yield s
