"""``freshbooks-orm <resource> list|show|update|delete`` for every resource of the registry, and
batch fixes on resources other than invoices (in process, against ``--sandbox``)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from freshbooks_orm import (
    Customer,
    Estimate,
    RetryPolicy,
    Tax,
    UnsupportedOperationError,
    registry,
)
from freshbooks_orm.batch import undo
from freshbooks_orm.batch.journal import Journal
from freshbooks_orm.cli import build_parser, main
from freshbooks_orm.sandbox import Sandbox

MODELS = registry.models()
FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_ACCOUNT_ID", "FRESHBOOKS_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))


def command(model) -> str:
    return model._meta.name.replace("_", "-")


def test_every_resource_has_its_commands():
    parser = build_parser()
    for model in MODELS:
        verbs = ["list", "show"] if model._meta.read_only else ["list", "show", "update", "delete"]
        for verb in verbs:
            args = parser.parse_args([command(model), verb, *(["1"] if verb == "show" else [])])
            assert (args.resource, args.resource_command) == (model._meta.name, verb)
    args = parser.parse_args(["credit_notes", "list"])  # the underscore spelling works too
    assert args.resource == "credit_notes"


def test_read_only_resources_have_no_write_commands(capsys):
    assert main(["expense-categories", "update", "--all", "--set", "category=x"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_list_in_every_format(model, capsys):
    assert main(["--sandbox", command(model), "list", "--limit", "3", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == list(model._meta.list_columns) and len(rows) == 4
    assert main(["--sandbox", command(model), "list", "--limit", "2", "--format", "json"]) == 0
    dicts = json.loads(capsys.readouterr().out)
    assert len(dicts) == 2 and all(model._meta.fields[model._meta.pk].wire in d for d in dicts)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.name)
def test_show_prints_fields_and_nested_lists(model, capsys):
    assert main(["--sandbox", command(model), "list", "--limit", "1", "--format", "json"]) == 0
    pk = json.loads(capsys.readouterr().out)[0][model._meta.fields[model._meta.pk].wire]
    assert main(["--sandbox", command(model), "show", str(pk)]) == 0
    out = capsys.readouterr().out
    assert str(pk) in out
    for name in model._meta.nested:
        assert f"\n{name} (" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["customers", "list", "--filter", "organisation_like=x"], "organization_like"),
        (["payments", "list", "--filter", "type=cheque"], "valid: Check"),
        (["customers", "update", "-f", "userid=1", "--set", "organisation=x"], "organization"),
        (["customers", "update", "--set", "note=x"], "--all"),
        (["expenses", "list", "--filter", "has_receipt=maybe"], "true or false"),
        (["taxes", "delete", "--filter", "taxid=1"], "HTTP DELETE"),
        (["estimates", "delete", "--all"], "cannot journal and undo"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_request(argv, message, capsys):
    assert main(["--sandbox", *argv]) == 2
    assert message in capsys.readouterr().err


def test_update_and_delete_a_non_invoice_resource(capsys):
    argv = ["--sandbox", "customers", "update", "--filter", "organization_like=Tyrell",
            "--set", "note=VIP", "--yes"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "update run" in out and "1 done" in out
    assert main(["--sandbox", "payments", "delete", "--filter", "type=Check", "--dry-run"]) == 0
    assert "vis_state: 0 -> 1" in capsys.readouterr().out


def test_batch_update_journal_and_undo_on_customers(tmp_path):
    with Sandbox(invoices=20, seed=2) as sb, sb.client(retry=FAST) as client:
        journal = Journal(tmp_path / "j.sqlite3")
        qs = Customer.objects.using(client).filter(organization_like="Tyrell")
        before = {c.pk: c.note for c in qs}
        result = qs.update(note="VIP", journal=journal, progress=False)
        assert result.done == len(before) > 0
        run = journal.run(result.run_id)
        assert run.resource == "customers"
        assert {i.object_id for i in journal.items(run.id)} == set(before)
        assert all(sb.objects("clients")[pk]["note"] == "VIP" for pk in before)
        undone = undo(result.run_id, client=client, journal=journal, progress=False)
        assert undone.done == len(before)
        assert {pk: sb.objects("clients")[pk]["note"] for pk in before} == before
        journal.close()


def test_runs_prompts_name_the_run_resource(tmp_path, capsys):
    """``runs undo`` asks about the run's own resource, not "invoices"."""
    path = tmp_path / "j.sqlite3"
    with Sandbox(invoices=20, seed=2) as sb, sb.client(retry=FAST) as client:
        journal = Journal(path)
        qs = Customer.objects.using(client).filter(organization_like="Tyrell")
        result = qs.update(note="VIP", journal=journal, progress=False)
        journal.close()
    assert result.done > 0
    # off a terminal the question is refused without --yes, and the refusal quotes it
    assert main(["--journal", str(path), "runs", "undo", result.run_id]) == 2
    err = capsys.readouterr().err
    assert f"restore {result.done} customers object(s)?" in err
    assert "invoice" not in err


def test_batch_delete_refuses_resources_deleted_by_http_delete():
    for model in (Tax, Estimate):
        with pytest.raises(UnsupportedOperationError, match="one by one"):
            model.objects.delete(dry_run=True)


def test_batch_apply_and_undo_on_estimate_lines(tmp_path):
    """Nested lists of any resource go through batch as invoice lines do: loaded with their
    include, sent whole, restored whole by undo."""
    from freshbooks_orm import Money

    with Sandbox(invoices=20, seed=3) as sb, sb.client(retry=FAST) as client:
        journal = Journal(tmp_path / "j.sqlite3")
        cid = min(e["customerid"] for e in sb.objects("estimates").values())
        qs = Estimate.objects.using(client).filter(customerid=cid)
        before = {e.pk: [line.name for line in e.lines] for e in qs.include("lines")}
        fee = {"name": "Fee", "qty": 1, "unit_cost": Money("5.00", "USD")}
        result = qs.apply(lambda e: e.lines.append(fee), journal=journal, progress=False)
        assert result.done == len(before) > 0
        stored = sb.objects("estimates")
        assert {pk: [li["name"] for li in stored[pk]["lines"]] for pk in before} == {
            pk: [*names, "Fee"] for pk, names in before.items()
        }
        undone = undo(result.run_id, client=client, journal=journal, progress=False)
        assert undone.done == len(before)
        stored = sb.objects("estimates")
        assert {pk: [li["name"] for li in stored[pk]["lines"]] for pk in before} == before
        journal.close()
