"""The registry of resources by name.

``@resource(..., name="invoices")`` registers the class as it is defined; nothing walks
subclasses.  The resource modules load when first used, so the package declares each resource to
the registry by name beforehand (``declare()``: the name, the module, the class name):
``get_model()`` imports a declared resource's module on demand, ``names()`` lists every resource
without importing any, ``models()`` imports them all.  Batch, the journal, relations and the CLI
find a model here by its name (``"invoices"``, ``"credit-notes"``) or its class name
(``"Invoice"``, as journals written by version 0.1 record it).

>>> from freshbooks_orm import registry
>>> registry.get_model("invoices").__name__
'Invoice'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import closest

if TYPE_CHECKING:
    from .model import Model

__all__ = ["UnknownResourceError", "declare", "get_model", "models", "names", "register"]

_MODELS: dict[str, type[Model]] = {}
#: name -> (module, class name) of every declared resource, imported or not
_DECLARED: dict[str, tuple[str, str]] = {}


class UnknownResourceError(LookupError):
    """A resource name the registry does not know; the message lists the valid names."""


def register(model: type[Model]) -> type[Model]:
    """Add ``model`` under ``model._meta.name``; a second, different class is refused."""
    name = model._meta.name
    if name is None:
        raise TypeError(f"{model.__name__} has no resource name to register")
    existing = _MODELS.get(name)
    if existing is not None and existing.__qualname__ != model.__qualname__:
        raise TypeError(f"resource name {name!r} is taken by {existing.__qualname__}")
    _MODELS[name] = model
    return model


def declare(name: str, module: str, class_name: str) -> None:
    """Make resource ``name`` known before its module is imported: ``get_model(name)`` (or
    ``get_model(class_name)``) imports ``module``, whose ``@resource`` declaration registers it."""
    _DECLARED[_key(name)] = (module, class_name)


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _load(key: str) -> type[Model]:
    """Import the module that declares resource ``key`` and return what it registered."""
    module, class_name = _DECLARED[key]
    __import__(module)  # not importlib.import_module: -X importtime reports this import
    model = _MODELS.get(key)
    if model is None or model.__name__ != class_name:
        raise UnknownResourceError(
            f"{module} was expected to declare the resource {key!r} as {class_name}, "
            f"but registered {model.__qualname__ if model else 'nothing'} under that name"
        )
    return model


def get_model(name: str) -> type[Model]:
    """The model registered as ``name`` (``credit-notes`` = ``credit_notes``) or class name."""
    key = _key(name)
    model = _MODELS.get(key)
    if model is not None:
        return model
    if key in _DECLARED:
        return _load(key)
    for candidate in _MODELS.values():
        if candidate.__name__ == name:
            return candidate
    for declared, (_, class_name) in _DECLARED.items():
        if class_name == name:
            return _load(declared)
    hint = closest(key, names())
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise UnknownResourceError(
        f"no resource named {name!r}.{did_you_mean} Resources: {', '.join(names())}."
    )


def names() -> tuple[str, ...]:
    """Every resource name, declared or registered, in the order they were declared (this
    imports no resource module)."""
    return tuple(dict.fromkeys([*_DECLARED, *_MODELS]))


def models() -> tuple[type[Model], ...]:
    """Every resource model, in the order of ``names()`` (this imports every resource module)."""
    return tuple(_MODELS.get(name) or _load(name) for name in names())
