"""Shared test settings: no test may touch the user's real token file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def pytest_configure(config: object) -> None:
    # The command line reads (and `login` writes) $FRESHBOOKS_ORM_TOKENS, else the user's config
    # directory; point it at a throwaway directory for the whole run, subprocesses included.
    tokens = Path(tempfile.mkdtemp(prefix="freshbooks-orm-tokens-")) / "tokens.json"
    os.environ["FRESHBOOKS_ORM_TOKENS"] = str(tokens)
