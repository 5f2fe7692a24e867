"""Shared test settings: no test may touch the user's real token file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from freshbooks_orm.batch.journal import Journal


def pytest_configure(config: object) -> None:
    # The command line reads (and `login` writes) $FRESHBOOKS_ORM_TOKENS, else the user's config
    # directory; point it at a throwaway directory for the whole run, subprocesses included.
    tokens = Path(tempfile.mkdtemp(prefix="freshbooks-orm-tokens-")) / "tokens.json"
    os.environ["FRESHBOOKS_ORM_TOKENS"] = str(tokens)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A batch journal in the test's temporary directory (never the user's)."""
    with Journal(tmp_path / "journal.sqlite3") as j:
        yield j
