"""``import freshbooks_orm`` stays light: what only some paths need loads when first used.
A correctness check through a fresh interpreter and ``sys.modules``; the import time itself is
measured by ``python -m bench`` (benchmark 6), never here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

OPTIONAL = ("oauthlib", "tqdm", "freshbooks_orm.sandbox", "freshbooks_orm.cli", "dateutil.parser")


def loaded_after(code: str) -> list[str]:
    report = f"print(json.dumps([m for m in {list(OPTIONAL)!r} if m in sys.modules]))"
    probe = f"import sys, json\n{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_importing_the_package_loads_none_of_the_optional_machinery() -> None:
    assert loaded_after("import freshbooks_orm") == []


@pytest.mark.slow
def test_the_optional_machinery_loads_when_it_is_used() -> None:
    code = (
        "import freshbooks_orm\n"
        "from freshbooks_orm.resources.common import UTC_DATETIME\n"
        "UTC_DATETIME.parse('2024-05-01 10:00:00')\n"
    )
    assert loaded_after(code) == ["dateutil.parser"]
