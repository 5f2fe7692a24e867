"""``python -m bench`` never writes the user's journal or token file (issue 14 point 5)."""

from __future__ import annotations

import os
from pathlib import Path

from freshbooks_orm.batch.journal import default_journal_path
from freshbooks_orm.http.tokens import default_token_path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_run_with_a_temporary_journal_and_token_store(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT))  # `pytest` alone does not put the checkout on sys.path
    import importlib

    bench_main = importlib.import_module("bench.__main__")
    from bench.common import Section

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FRESHBOOKS_ORM_JOURNAL", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", "/kept/after/the/run.json")
    seen = {}

    def spy(cfg):
        seen["journal"] = default_journal_path()
        seen["tokens"] = default_token_path()
        return Section(key="spy", title="spy", method="", columns=["what"], rows=[["spy"]])

    monkeypatch.setattr(bench_main, "BENCHMARKS", {"spy": spy})
    assert bench_main.main(["--quick", "--no-write"]) == 0
    home = Path.home()
    for path in seen.values():
        assert home not in path.parents and not path.exists()
        assert path.parent.name.startswith("freshbooks-orm-bench-")
    assert "FRESHBOOKS_ORM_JOURNAL" not in os.environ  # restored afterwards
    assert os.environ["FRESHBOOKS_ORM_TOKENS"] == "/kept/after/the/run.json"
