"""The package's import graph: no circles, and the resources stay declarations.

Imports are read from the source (module level, outside ``if TYPE_CHECKING:``), so the test
sees the graph a reader sees.  Imports inside functions are deferred on purpose; each one is
listed in ``DEFERRED`` with the reason, and no new one may close a circle unnoticed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import freshbooks_orm

PACKAGE = Path(freshbooks_orm.__file__).parent
NAME = "freshbooks_orm"

#: function-level imports that point "up" the layers, with why they are deferred
DEFERRED = {
    ("freshbooks_orm.orm.queryset", "freshbooks_orm.batch"),  # QuerySet.update/delete/apply
    # login borrows the CLI's UsageError at call time (the context builds clients with auth)
    ("freshbooks_orm.cli.auth", "freshbooks_orm.cli.context"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in MODULES else target)
    return out


def imports(module: str, *, deferred: bool) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt], inside_function: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if deferred:
                    visit(node.body, True)
                continue
            if isinstance(node, ast.ClassDef):
                visit(node.body, inside_function)
                continue
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []) or []:
                        visit(
                            child.body if isinstance(child, ast.ExceptHandler) else [child],
                            inside_function,
                        )
                continue
            if inside_function != deferred:
                continue
            if isinstance(node, ast.ImportFrom):
                found.update(_resolve(module, is_package, node))
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)

    visit(tree.body, False)
    return {m for m in found if m.startswith(NAME) and m in MODULES and m != module}


def graph() -> dict[str, set[str]]:
    # the package face imports everything; leave it out (importing a submodule runs it first
    # but is not a dependency of the submodule's code)
    return {m: imports(m, deferred=False) - {NAME} for m in MODULES if m != NAME}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_module_level_imports_form_no_circle():
    assert find_cycle(graph()) is None


def test_no_deferred_import_closes_a_circle_except_the_listed_ones():
    edges = graph()
    for module in MODULES:
        if module == NAME:
            continue
        for target in imports(module, deferred=True) - {NAME}:
            if (module, target) in DEFERRED:
                continue
            with_edge = {k: set(v) for k, v in edges.items()}
            with_edge[module].add(target)
            assert find_cycle(with_edge) is None, f"{module} -> {target} (inside a function)"


def test_the_transport_does_not_import_the_package_face():
    assert NAME not in imports("freshbooks_orm.http.transport", deferred=False)
    assert NAME not in imports("freshbooks_orm.http.transport", deferred=True)


@pytest.mark.parametrize(
    "lower, upper",
    [
        ("freshbooks_orm.orm.query", "freshbooks_orm.orm.model"),
        ("freshbooks_orm.orm.queryset", "freshbooks_orm.orm.model"),
        ("freshbooks_orm.orm.model", "freshbooks_orm.resources.invoices"),
        ("freshbooks_orm.orm.model", "freshbooks_orm.batch"),
        ("freshbooks_orm.http.transport", "freshbooks_orm.orm.model"),
    ],
)
def test_lower_layers_never_import_upper_ones(lower, upper):
    assert upper not in imports(lower, deferred=False) | imports(lower, deferred=True)


def test_resource_modules_declare_and_nothing_outside_them_names_a_resource():
    names = ("model", "queryset", "query", "options", "fields", "registry", "relations")
    core = [f"{NAME}.orm.{n}" for n in names]
    for module in core:
        text = _code_without_docstrings(MODULES[module])
        for word in ("invoice", "'lines'", "Invoice"):
            assert word not in text, f"{module} names {word}"


def _code_without_docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_the_layers_are_folders():
    """A newcomer names the layers from the tree: http -> orm -> resources -> batch -> cli, with
    testing and the sandbox beside them; only the error tree and the version are shared."""
    top = {p.name for p in PACKAGE.iterdir() if not p.name.startswith("__pycache__")}
    assert {"http", "orm", "resources", "batch", "cli", "testing", "sandbox"} <= top
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    assert flat == {"__init__", "__main__", "_version", "errors"}


@pytest.mark.parametrize("old", sorted(freshbooks_orm.MOVED_MODULES))
def test_the_0_1_module_paths_still_import_the_same_modules(old):
    code = (
        "import importlib, sys\n"
        f"old = importlib.import_module('freshbooks_orm.{old}')\n"
        f"new = importlib.import_module('freshbooks_orm.{freshbooks_orm.MOVED_MODULES[old]}')\n"
        "assert old is new and old.__spec__.name == new.__name__, (old, new)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_package_imports_in_a_fresh_interpreter():
    code = "import freshbooks_orm, freshbooks_orm.orm.registry as r; print(len(r.names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) >= 1


def test_no_module_reaches_into_a_model_s_private_state():
    """Other modules read a model through ``_meta`` (and a queryset through its public
    properties), never through the private names of version 0.1."""
    owners = {
        f"{NAME}.orm.model",
        f"{NAME}.orm.options",
        f"{NAME}.orm.fields",
        f"{NAME}.orm.queryset",
    }
    private = ("'_raw'", "._fields", "._pk_name", "._resource", "_line_payload", "._low",
               "._high", "_get_client")  # fmt: skip
    for module, path in MODULES.items():
        if module in owners or module.startswith(f"{NAME}.sandbox"):
            continue
        code = _code_without_docstrings(path)
        for name in private:
            assert name not in code, f"{module} uses {name}"


def test_every_relative_import_names_a_module_of_the_package():
    """After the move to layer folders, ``from .transport import ...`` inside ``orm/`` would
    silently look for ``orm/transport.py``: every relative import must name a real module."""
    for module, path in MODULES.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                assert target in MODULES, f"{path}:{node.lineno} imports {target}"
