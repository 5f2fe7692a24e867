"""``.. freshbooks-resources::`` -- the resource reference, generated from the declarations.

Every resource model (the registry's, ``freshbooks_orm.orm.registry.models()``; without a registry,
every ``Model`` subclass exported by ``freshbooks_orm`` that has a list endpoint) gets a section
with its path, what ``delete()`` sends, its fields (attribute, wire key, type, kind), the fields
of its nested lists, its filters (wire name, kind, meaning, the lookups that map to it), its
``include()`` values, its ``order_by()`` arguments and its relations.  Nothing is written by
hand, so the page cannot drift from the code.
"""

from __future__ import annotations

import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def resource_models() -> list[type]:
    import freshbooks_orm

    registry = getattr(freshbooks_orm, "registry", None)
    if registry is not None and hasattr(registry, "models"):
        return list(registry.models())
    from freshbooks_orm.orm.model import Model

    found = []
    for name in freshbooks_orm.__all__:
        obj = getattr(freshbooks_orm, name, None)
        meta = getattr(obj, "_meta", None)
        if inspect.isclass(obj) and issubclass(obj, Model) and meta and meta.resource:
            found.append(obj)
    return found


def _lit(value: Any) -> str:
    text = str(value)
    return f"``{text}``" if text else ""


def _first_paragraph(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n", 1)[0].strip()


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0] or ' '}")
        out += [f"     - {cell or ' '}" for cell in row[1:]]
    return [*out, ""]


def _kind(spec: Any) -> str:
    kind = getattr(spec, "kind", None)
    return str(getattr(kind, "value", kind) or "")


def _type_name(spec: Any) -> str:
    if getattr(spec, "item_model", None) is not None:
        return f"list of :ref:`{spec.item_model.__name__} <{_label(spec.item_model)}>`"
    return str(getattr(spec.type, "name", type(spec.type).__name__))


def _label(model: type) -> str:
    return (
        f"resource-{model.__module__}-{model.__qualname__}".lower()
        .replace(".", "-")
        .replace("_", "-")
    )


def _field_rows(model: type) -> list[list[str]]:
    rows = []
    for name, spec in model._meta.fields.items():
        wire = spec.wire if spec.wire != name else ""
        rows.append([_lit(name), _lit(wire), _type_name(spec), _kind(spec)])
    return rows


def _meanings(model: type, spec: Any) -> dict[str, str]:
    """Filter name -> the lookup it applies on the server (``create_date__gte``), as the query
    planner reads the declarations; empty when the planner is not there or does not say."""
    try:
        from freshbooks_orm.orm.planner import meanings
    except ImportError:
        return {}
    out = {}
    for name, meaning in meanings(model, spec).items():
        if meaning is None:
            continue
        path = meaning.path
        parts = [path.field, getattr(path, "item_field", None), path.lookup]
        text = "__".join(p for p in parts if p)
        if getattr(meaning, "has_fixed", False):
            text = f"{path.field}__{path.lookup}={meaning.fixed!r} when True"
        out[name] = text
    return out


def _filter_rows(model: type, spec: Any) -> list[list[str]]:
    lookups: dict[str, list[str]] = {}
    for lookup, target in dict(getattr(spec, "lookups", {}) or {}).items():
        lookups.setdefault(str(target), []).append(lookup)
    means = _meanings(model, spec)
    rows = []
    for name, flt in dict(spec.filters).items():
        rows.append(
            [
                _lit(name),
                type(flt).__name__.removesuffix("Filter") or "Filter",
                _lit(means.get(name, "")),
                str(getattr(flt, "doc", "") or ""),
                ", ".join(_lit(x) for x in sorted(lookups.get(name, ()))),
            ]
        )
    return rows


def _relation_rows(model: type) -> list[list[str]]:
    rows = []
    for name, rel in dict(getattr(model._meta, "relations", {}) or {}).items():
        how = ""
        if getattr(rel, "field", None):
            how = f"by {_lit(rel.field)}"
        elif getattr(rel, "filter", None):
            how = f"filter {_lit(rel.filter)}"
        rows.append([_lit(name), type(rel).__name__, _lit(getattr(rel, "target", "")), how])
    return rows


def render_model(model: type, underline: str, sub: str, seen: set[type]) -> list[str]:
    meta = model._meta
    spec = meta.resource
    title = model.__name__ if spec is None else f"{model.__name__} (``{meta.name}``)"
    out = [f".. _{_label(model)}:", "", title, underline * (len(title) + 4), ""]
    summary = _first_paragraph(model)
    if summary:
        out += [summary, ""]
    import freshbooks_orm

    public = getattr(freshbooks_orm, model.__name__, None) is model
    dotted = (
        f"freshbooks_orm.{model.__name__}" if public else f"{model.__module__}.{model.__qualname__}"
    )
    facts = [f"* Python: :class:`{dotted}`"]
    if spec is not None:
        facts.append(f"* Path: ``/accounting/account/<account_id>/{spec.path}`` (list and detail)")
        facts.append(f"* Envelope keys: ``{spec.single_key}`` (one), ``{spec.list_key}`` (list)")
        facts.append(f"* Primary key: ``{meta.pk}``; at most {spec.max_per_page} per page")
        lifecycle = getattr(meta, "lifecycle", None)
        if lifecycle is not None:
            facts.append(f"* ``delete()``: {getattr(lifecycle, 'delete_style', '')}")
        includes = ", ".join(_lit(i) for i in getattr(spec, "includes", ()))
        facts.append(f"* ``include()``: {includes or 'none'}")
        sorts = ", ".join(_lit(s) for s in dict(getattr(spec, "sorts", {}) or {}))
        facts.append(f"* ``order_by()``: {sorts or 'no sort the API honours'}")
    out += [*facts, ""]
    out += _table("Fields", ["field", "wire key", "type", "kind"], _field_rows(model))
    if spec is not None:
        out += _table(
            "API filters (``filter()`` takes each wire name, and the lookups listed)",
            ["filter", "kind", "applies", "meaning", "declared lookups"],
            _filter_rows(model, spec),
        )
    out += _table("Relations", ["name", "kind", "target", "how"], _relation_rows(model))
    for nested in getattr(meta, "nested", {}).values():
        item = nested.item_model
        if item is not None and item not in seen:
            seen.add(item)
            out += render_model(item, sub, sub, seen)
    return out


class ResourcesDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        try:
            from freshbooks_orm import lookups
        except ImportError:
            pass
        else:
            names = ", ".join(_lit(x) for x in getattr(lookups, "LOOKUPS", ()))
            transforms = ", ".join(_lit(x) for x in getattr(lookups, "TRANSFORMS", ()))
            lines += [
                f"Every field takes Django's lookups ({names}) and dates take the transforms "
                f"({transforms}), as in ``create_date__year=2024``.  The query planner sends "
                "what an API filter below can apply (its *applies* column) and checks the rest "
                "on each row it reads.",
                "",
            ]
        seen: set[type] = set()
        for model in resource_models():
            lines += render_model(model, "-", "~", seen)
        container = nodes.container()
        nested_parse_with_titles(
            self.state, StringList(lines, source="freshbooks-resources"), container
        )
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("freshbooks-resources", ResourcesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
