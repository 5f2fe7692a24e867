"""The command line's bulk writes: the scope guard (--filter, --exclude or --all) and a dry run
that says what the real run will do (a value it would find already there is no change)."""

from __future__ import annotations

import re

import pytest

from freshbooks_orm.cli import main

ENV_NAMES = ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_ACCOUNT_ID", "FRESHBOOKS_API_URL")


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    for name in (*ENV_NAMES, "FRESHBOOKS_REFRESH_TOKEN", "FRESHBOOKS_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))


@pytest.mark.parametrize("verb", [["update", "--set", "po_number=X"], ["delete"]])
def test_no_filter_and_no_exclude_is_refused_naming_both_and_all(verb, capsys):
    assert main(["invoices", *verb, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "without --filter or --exclude" in err and "--all" in err


@pytest.mark.parametrize("verb", [["update", "--set", "po_number=X"], ["delete"]])
def test_a_lone_exclude_narrows_the_set_like_a_filter(verb, capsys):
    assert main(["--sandbox", "invoices", *verb, "--exclude", "v3_status=draft", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing sent" in out


def counts(text, pattern):
    found = re.search(pattern, text)
    assert found, text
    return tuple(int(n) for n in found.groups())


@pytest.mark.parametrize("value", ["", "PO-NEW"])
def test_the_dry_run_and_the_real_run_agree_on_a_blank_value(value, capsys):
    # --set po_number= on invoices whose po_number is null: the real run finds "" already
    # there (FreshBooks' blank), so the dry run must not list it as a change.
    argv = ["--sandbox", "invoices", "update", "--filter", "po_number__isnull=true"]
    argv += ["--set", f"po_number={value}"]
    assert main([*argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    would, matched, unchanged = counts(
        dry, r"would change (\d+) of (\d+) matched \w+ \((\d+) unchanged"
    )
    assert matched > 0
    assert main([*argv, "--yes"]) == 0
    real = capsys.readouterr()
    assert (would, unchanged) == ((0, matched) if value == "" else (matched, 0))
    if value == "":
        assert "po_number" not in dry.split("\n", 1)[1]  # no change listed
        assert "will change 0 of" in real.out and "nothing to write" in real.err
    else:
        done, unchanged_real = counts(real.out, r"(\d+) done, (\d+) unchanged")
        assert (done, unchanged_real) == (would, unchanged)
