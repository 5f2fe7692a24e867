"""The API reference: autodoc of every public name, and a check that none was left out.

At build time this writes ``docs/_generated/api-modules.inc``: one ``automodule`` for the
package (the names of ``freshbooks_orm.__all__``) and one for each public module, listing the
names of that module's ``__all__`` that the package does not already export (so each object is
documented once).  When the build ends, every one of those names must have been documented;
one that was not is a warning, which ``sphinx-build -W`` turns into a failed build.

Fields of resource models are left to the resource reference (``resource_reference``), which
is generated from the same declarations.
"""

from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "freshbooks_orm"
#: Public modules documented besides the package (their ``__all__`` is their public surface).
MODULES = (
    "freshbooks_orm.http.auth",
    "freshbooks_orm.batch",
    "freshbooks_orm.errors",
    "freshbooks_orm.batch.journal",
    "freshbooks_orm.orm.registry",
    "freshbooks_orm.sandbox",
    "freshbooks_orm.testing",
    "freshbooks_orm.http.tokens",
    "freshbooks_orm.orm.options",
    "freshbooks_orm.orm.fields",
    "freshbooks_orm.orm.model",
    "freshbooks_orm.orm.query",
    "freshbooks_orm.orm.types",
    "freshbooks_orm.orm.lookups",
    "freshbooks_orm.orm.planner",
    "freshbooks_orm.orm.aggregates",
)


def _exported(module: types.ModuleType) -> list[str]:
    return [n for n in getattr(module, "__all__", ()) if not n.startswith("__")]


def plan() -> dict[str, list[str]]:
    """Module name -> the names documented under it."""
    package = importlib.import_module(PACKAGE)
    top = [n for n in _exported(package) if not inspect.ismodule(getattr(package, n))]
    seen = {id(getattr(package, n)) for n in top}
    out = {PACKAGE: top}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a module another version does not have
            continue
        own = []
        for member in _exported(module):
            obj = getattr(module, member)
            if id(obj) in seen and not isinstance(obj, (str, int, float, tuple, frozenset)):
                continue
            seen.add(id(obj))
            own.append(member)
        out[name] = own
    return out


def _is_data(module: types.ModuleType, name: str) -> bool:
    obj = getattr(module, name)
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def write_modules(app: Sphinx) -> None:
    blocks = []
    for module_name, names in plan().items():
        module = importlib.import_module(module_name)
        title = (
            "The package: ``freshbooks_orm``" if module_name == PACKAGE else f"``{module_name}``"
        )
        block = [title, "-" * len(title), "", f".. automodule:: {module_name}"]
        code = [n for n in names if not _is_data(module, n)]
        data = [n for n in names if _is_data(module, n)]
        if code:  # no :members: option at all: the module's docstring only
            block += [f"   :members: {', '.join(code)}", "   :undoc-members:"]
        block += ["   :show-inheritance:", ""]
        # Constants: autodoc skips undocumented (and imported) data, so name each one.
        for name in data:
            block += [f".. autodata:: {module_name}.{name}", ""]
        blocks.append("\n".join(block))
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    text = "\n".join(blocks)
    target = out / "api-modules.inc"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def _field_names() -> frozenset[str]:
    from resource_reference import resource_models

    names: set[str] = set()
    pending = list(resource_models())
    while pending:
        model = pending.pop()
        for name, spec in model._meta.fields.items():
            names.add(name)
            if getattr(spec, "item_model", None) is not None:
                pending.append(spec.item_model)
    return frozenset(names)


def skip_member(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    """Leave out what the resource reference documents: the models' fields (with their type
    and kind), and the per-model ``DoesNotExist``/``MultipleObjectsReturned`` aliases (the
    ``Model`` docstring explains them)."""
    if what != "class":
        return None
    if name in ("DoesNotExist", "MultipleObjectsReturned"):
        return True
    if name in _field_names() and not callable(obj) and not isinstance(obj, property):
        return True
    return None


def check_coverage(app: Sphinx, env: Any) -> None:
    documented = set(env.get_domain("py").objects)
    for module, names in plan().items():
        for name in names:
            full = f"{module}.{name}"
            if full not in documented:
                logger.warning("API reference: %s is public but was not documented", full)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", write_modules)
    app.connect("env-check-consistency", check_coverage)
    app.connect("autodoc-skip-member", skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
