"""The registry of resources by name, filled by the declarations themselves.

``@resource(..., name="invoices")`` registers the class as it is defined, so importing a
resource module is all it takes; nothing walks subclasses.  Batch, the journal and the CLI find
a model here by its name (``"invoices"``, ``"credit-notes"``) or its class name (``"Invoice"``,
as journals written by version 0.1 record it).

>>> from freshbooks_orm import registry
>>> registry.get_model("invoices").__name__
'Invoice'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import closest

if TYPE_CHECKING:
    from .model import Model

__all__ = ["UnknownResourceError", "get_model", "models", "names", "register"]

_MODELS: dict[str, type[Model]] = {}


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


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_model(name: str) -> type[Model]:
    """The model registered as ``name`` (``credit-notes`` = ``credit_notes``) or class name."""
    model = _MODELS.get(_key(name))
    if model is not None:
        return model
    for candidate in _MODELS.values():
        if candidate.__name__ == name:
            return candidate
    hint = closest(_key(name), _MODELS)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise UnknownResourceError(
        f"no resource named {name!r}.{did_you_mean} Resources: {', '.join(names())}."
    )


def names() -> tuple[str, ...]:
    """The registered names, in the order they were declared."""
    return tuple(_MODELS)


def models() -> tuple[type[Model], ...]:
    """The registered models, in the order they were declared."""
    return tuple(_MODELS.values())
