"""The command line speaks the planner's language: lookups, --exclude, --order-by, --explain."""

from __future__ import annotations

import json

import pytest

from freshbooks_orm.cli import SANDBOX_INVOICES, main
from freshbooks_orm.resources.invoices import Invoice
from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_ACCOUNT_ID", "FRESHBOOKS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))


@pytest.fixture(scope="module")
def stored():
    """What ``--sandbox`` serves: the same seed as the command line's sandbox."""
    with Sandbox(invoices=SANDBOX_INVOICES, seed=1) as sb, sb.client() as c:
        return list(Invoice.objects.using(c))


def listed(capsys, *args):
    assert main(["--sandbox", "invoices", "list", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lookups_excludes_and_ordering(capsys, stored):
    rows = listed(
        capsys,
        "--filter", "amount__gt=100",
        "--filter", "v3_status__in=sent,viewed",
        "--exclude", "currency_code=EUR",
        "--order-by=-create_date,invoice_number",
    )  # fmt: skip
    expected = [
        r for r in stored
        if r.amount.amount > 100 and r.v3_status in ("sent", "viewed") and r.currency_code != "EUR"
    ]  # fmt: skip
    assert [r["id"] for r in rows] == [
        r.id for r in sorted(sorted(expected, key=lambda r: r.invoice_number),
                             key=lambda r: r.create_date, reverse=True)
    ]  # fmt: skip
    assert main(["--sandbox", "invoices", "list", "--order-by=-amount"]) == 2
    assert "CAD" in capsys.readouterr().err  # money is ordered within one currency
    usd_only = listed(capsys, "--filter", "currency_code=USD", "--order-by=-amount")
    amounts = [float(r["amount"]["amount"]) for r in usd_only]
    assert amounts == sorted(amounts, reverse=True)


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["--filter", "create_date__year=2024"], lambda r: r.create_date.year == 2024),
        (["--filter", "amount__range=10,500"], lambda r: 10 <= r.amount.amount <= 500),
        (["--filter", "amount__lte=100 USD", "--filter", "currency_code=USD"],
         lambda r: r.currency_code == "USD" and r.amount.amount <= 100),
        (["--filter", "po_number__isnull=true"], lambda r: r.po_number is None),
        (["--filter", "invoice_number__endswith=7"], lambda r: r.invoice_number.endswith("7")),
        (["--filter", "paid=false"], lambda r: r.outstanding.amount > 0),
        (["--filter", "customerids=200001,200002"], lambda r: r.customerid in (200001, 200002)),
        (["--exclude", "v3_status=paid"], lambda r: r.v3_status != "paid"),
    ],
    ids=str,
)  # fmt: skip
def test_each_kind_of_value_is_typed(capsys, stored, args, check):
    assert {r["id"] for r in listed(capsys, *args)} == {r.id for r in stored if check(r)}


def test_explain_prints_the_plan_and_sends_nothing(capsys):
    code = main(["invoices", "list", "--filter", "amount__gt=100", "--exclude",
                 "v3_status=draft", "--explain"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "search%5Btotal_min%5D=100" in out and "NOT v3_status__exact='draft'" in out
    assert "verified on every row" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "amount__gtt=1"], "has no lookup"),
        (["--filter", "amount__range=1"], "LOW,HIGH"),
        (["--filter", "po_number__isnull=maybe"], "true or false"),
        (["--exclude", "v3status=sent"], "Did you mean 'v3_status'"),
        (["--filter", "create_date__year=soon"], "number"),
    ],
)
def test_bad_lookups_are_usage_errors(capsys, args, message):
    assert main(["invoices", "list", *args, "--explain"]) == 2
    assert message in capsys.readouterr().err


def test_batch_commands_take_excludes(capsys):
    code = main(["--sandbox", "invoices", "update", "--filter", "v3_status=draft",
                 "--exclude", "currency_code=USD", "--set", "po_number=PO-X",
                 "--dry-run", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "dry run" in out
    drafts = [r for r in stored_drafts() if r["currency_code"] != "USD"]
    assert f"of {len(drafts)} matched" in out


def stored_drafts():
    with Sandbox(invoices=SANDBOX_INVOICES, seed=1) as sb:
        invoices = sb.invoices.values()
        return [i for i in invoices if i["v3_status"] == "draft" and i["vis_state"] != 1]
