"""help() and pydoc work on every public name (issue 14 point 2)."""

from __future__ import annotations

import importlib
import io
import pydoc
import subprocess
import sys

import pytest

import freshbooks_orm
from freshbooks_orm.orm.model import Model

#: The public modules the documentation covers besides the package itself.
PUBLIC_MODULES = (
    "freshbooks_orm.http.auth",
    "freshbooks_orm.batch",
    "freshbooks_orm.errors",
    "freshbooks_orm.orm.registry",
    "freshbooks_orm.sandbox",
    "freshbooks_orm.testing",
    "freshbooks_orm.http.tokens",
)


def _public_names() -> list[str]:
    names = [f"freshbooks_orm.{name}" for name in freshbooks_orm.__all__]
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names.append(module_name)
        names += [f"{module_name}.{name}" for name in getattr(module, "__all__", ())]
    return names


@pytest.mark.parametrize("dotted", _public_names())
def test_pydoc_renders_every_public_name(dotted):
    text = pydoc.render_doc(dotted, renderer=pydoc.plaintext)
    assert dotted.rsplit(".", 1)[-1] in text


def test_help_on_models_and_the_model_base():
    out = io.StringIO()
    helper = pydoc.Helper(output=out)
    for thing in (freshbooks_orm.Invoice, freshbooks_orm.InvoiceLine, Model, freshbooks_orm):
        helper.help(thing)
    text = out.getvalue()
    assert "class Invoice" in text and "class Model" in text and "objects" in text


def test_objects_on_a_class_without_a_list_endpoint_is_a_placeholder():
    assert "no list endpoint" in repr(Model.objects)
    assert "no list endpoint" in repr(freshbooks_orm.InvoiceLine.objects)
    with pytest.raises(TypeError, match="InvoiceLine has no list endpoint"):
        freshbooks_orm.InvoiceLine.objects.filter(name="x")
    assert isinstance(freshbooks_orm.Invoice.objects, freshbooks_orm.QuerySet)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["freshbooks_orm", "freshbooks_orm.Invoice"])
def test_python_m_pydoc(target):
    result = subprocess.run(
        [sys.executable, "-m", "pydoc", target],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PAGER": "cat", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback (most recent call last)" not in result.stdout + result.stderr
    assert "Invoice" in result.stdout
