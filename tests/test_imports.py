"""``import freshbooks_orm`` stays light: what only some paths need loads when first used.

Correctness checks through a fresh interpreter and ``sys.modules``; the import time itself is
measured by ``python -m bench`` (benchmark 6), never here.  The package face gives the resources,
the query layer and the aggregates on first use (a module ``__getattr__``), and the registry knows
every resource by name before its module is imported; these tests fail if an eager import comes
back or a lazy name stops working.
"""

from __future__ import annotations

import ast
import base64
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import freshbooks_orm
from freshbooks_orm.resources import RESOURCES

PACKAGE = Path(freshbooks_orm.__file__).parent
#: every resource module, read from the tree so a new one is covered without editing this file
RESOURCE_MODULES = sorted(
    f"freshbooks_orm.resources.{p.stem}"
    for p in (PACKAGE / "resources").glob("*.py")
    if p.stem != "__init__"
)
#: what only some paths need: OAuth, progress bars, the sandbox, the CLI, the date parser,
#: batch fixes, the cassette helpers, pandas, and the query layer behind the models
OPTIONAL = (
    "oauthlib",
    "tqdm",
    "freshbooks_orm.sandbox",
    "freshbooks_orm.cli",
    "dateutil.parser",
    "freshbooks_orm.batch",
    "freshbooks_orm.testing",
    "pandas",
    "freshbooks_orm.orm.model",
    "freshbooks_orm.orm.queryset",
    "freshbooks_orm.orm.query",
    "freshbooks_orm.orm.planner",
    "freshbooks_orm.orm.lookups",
    "freshbooks_orm.orm.aggregates",
    "freshbooks_orm.orm.types",
    "freshbooks_orm.orm.display",
)


def run(code: str) -> object:
    """Run ``code`` in a fresh interpreter; it ends by assigning ``result``, returned as JSON."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(result))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded_after(code: str, watched: tuple[str, ...] | list[str] = OPTIONAL) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    return list(run(f"{code}\nresult = [m for m in {list(watched)!r} if m in sys.modules]"))


@pytest.mark.slow
def test_importing_the_package_loads_none_of_the_optional_machinery() -> None:
    assert loaded_after("import freshbooks_orm") == []


@pytest.mark.slow
def test_importing_the_package_loads_no_resource_module() -> None:
    assert len(RESOURCE_MODULES) >= 10
    assert loaded_after("import freshbooks_orm", RESOURCE_MODULES) == []


@pytest.mark.slow
def test_reading_a_utc_datetime_needs_no_free_form_date_parser() -> None:
    # signup_date is read as strictly as every other datetime (dateutil's guessing parser once
    # read "2024-03" as the 3rd month with today's day); nothing loads dateutil's parser
    code = (
        "import freshbooks_orm\n"
        "from freshbooks_orm.resources.common import UTC_DATETIME\n"
        "UTC_DATETIME.parse('2024-05-01 10:00:00')\n"
    )
    assert "dateutil.parser" not in loaded_after(code)


@pytest.mark.slow
def test_a_resource_loads_its_own_module_and_not_the_others() -> None:
    loaded = loaded_after("from freshbooks_orm import Invoice", RESOURCE_MODULES)
    assert "freshbooks_orm.resources.invoices" in loaded
    others = {"customers", "payments", "estimates", "expenses", "items", "taxes"}
    assert not {m.rpartition(".")[2] for m in loaded} & others, loaded


@pytest.mark.slow
def test_every_public_name_works_from_a_fresh_interpreter() -> None:
    code = (
        "import importlib, freshbooks_orm\n"
        "missing = [n for n in freshbooks_orm.__all__ if n not in dir(freshbooks_orm)]\n"
        "ns = {}\n"
        "exec('from freshbooks_orm import *', ns)\n"
        "star = sorted(n for n in freshbooks_orm.__all__ if n not in ns)\n"
        "wrong = [n for m, names in freshbooks_orm.LAZY.items() for n in names\n"
        "         if getattr(freshbooks_orm, n)\n"
        "         is not getattr(importlib.import_module('freshbooks_orm.' + m), n)]\n"
        "result = [missing, star, wrong]\n"
    )
    assert run(code) == [[], [], []]


def test_an_unknown_name_is_an_attribute_error_and_old_module_paths_still_import() -> None:
    with pytest.raises(AttributeError, match="Invoce"):
        freshbooks_orm.Invoce  # noqa: B018
    assert not hasattr(freshbooks_orm, "Invoce")
    from freshbooks_orm import lookups  # a 0.1 module path, through the MOVED_MODULES hook

    assert lookups is sys.modules["freshbooks_orm.orm.lookups"]


def test_the_lazy_table_the_type_checking_imports_and_all_agree() -> None:
    """Type checkers see the lazy names through the ``TYPE_CHECKING`` imports; the table, those
    imports and ``__all__`` name the same things, from the same modules."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    checked: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1 and imp.module
                checked[imp.module] = tuple(a.name for a in imp.names)
    assert checked == freshbooks_orm.LAZY
    lazy = {n for names in freshbooks_orm.LAZY.values() for n in names}
    assert lazy <= set(freshbooks_orm.__all__)
    eager = set(freshbooks_orm.__all__) - lazy
    assert all(name in vars(freshbooks_orm) for name in eager)  # the rest is plain attributes


@pytest.mark.slow
def test_the_resource_table_matches_what_the_modules_declare() -> None:
    """``RESOURCES`` (what the registry knows before importing) is exactly what importing every
    resource module registers: a new resource cannot be forgotten there."""
    code = (
        "import importlib, freshbooks_orm\n"
        "from freshbooks_orm.orm import registry\n"
        f"for m in {RESOURCE_MODULES!r}: importlib.import_module(m)\n"
        "result = {n: [m.__module__.rpartition('.')[2], m.__name__]\n"
        "          for n, m in registry._MODELS.items()}\n"
    )
    assert run(code) == {name: list(where) for name, where in RESOURCES.items()}
    exported = {n for names in freshbooks_orm.LAZY.values() for n in names}
    assert {class_name for _, class_name in RESOURCES.values()} <= exported


@pytest.mark.slow
def test_the_registry_finds_every_resource_by_name_in_a_fresh_interpreter() -> None:
    code = (
        "from freshbooks_orm import registry\n"
        "names = list(registry.names())\n"
        "loaded = [m for m in sys.modules if m.startswith('freshbooks_orm.resources.')]\n"
        "by_name = registry.get_model('credit-notes').__name__\n"
        "by_class = registry.get_model('RecurringProfile')._meta.name\n"
        "models = [m._meta.name for m in registry.models()]\n"
        "result = [names, loaded, by_name, by_class, models]\n"
    )
    names, loaded, by_name, by_class, models = run(code)
    assert names == list(RESOURCES) == models
    assert loaded == []  # names() imports nothing
    assert (by_name, by_class) == ("CreditNote", "recurring_profiles")


@pytest.mark.slow
def test_journal_resume_and_relations_find_their_models_by_name_in_a_fresh_interpreter() -> None:
    code = (
        "from freshbooks_orm.batch.wire import _model_for\n"
        "from freshbooks_orm import Invoice\n"
        "before = 'freshbooks_orm.resources.customers' in sys.modules\n"
        "target = Invoice.customer.model.__name__\n"
        "result = [_model_for('expense_categories').__name__, _model_for('Tax').__name__,\n"
        "          before, target]\n"
    )
    assert run(code) == ["ExpenseCategory", "Tax", False, "Customer"]


@pytest.mark.slow
def test_a_pickled_model_loads_in_a_fresh_interpreter() -> None:
    from freshbooks_orm import Invoice

    wire = {"id": 7, "invoice_number": "0007", "amount": {"amount": "12.50", "code": "USD"}}
    invoice = Invoice.from_wire(wire)
    blob = base64.b64encode(pickle.dumps(invoice)).decode()
    code = (
        "import base64, pickle\n"
        f"obj = pickle.loads(base64.b64decode({blob!r}))\n"
        "result = [type(obj).__module__, type(obj).__name__, obj.id, obj.invoice_number,\n"
        "          str(obj.amount.amount), obj.amount.code]\n"
    )
    assert run(code) == ["freshbooks_orm.resources.invoices", "Invoice", 7, "0007", "12.50", "USD"]


@pytest.mark.slow
def test_a_resource_module_imports_directly_in_a_fresh_interpreter() -> None:
    code = (
        "import freshbooks_orm.resources.estimates as mod\n"
        "import freshbooks_orm\n"
        "result = [freshbooks_orm.Estimate is mod.Estimate,\n"
        "          freshbooks_orm.registry.get_model('estimates') is mod.Estimate]\n"
    )
    assert run(code) == [True, True]


@pytest.mark.slow
def test_imports_made_on_first_use_show_in_x_importtime() -> None:
    """Benchmark 6 sums ``-X importtime``'s top-level figures; an import made by
    ``importlib.import_module`` would be missing from them (only its own imports show)."""
    code = "from freshbooks_orm import Invoice, registry\nregistry.get_model('taxes')\n"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    top = [line.split("|")[2][1:] for line in done.stderr.splitlines() if line.count("|") == 2]
    assert "freshbooks_orm.resources.invoices" in top
    assert "freshbooks_orm.resources.taxes" in top
