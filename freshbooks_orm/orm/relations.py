"""Relations between resources, declared on the models.

``ToOne`` follows an id field to the object it names::

    customer = ToOne["Customer"]("customers", "customerid")

``invoice.customer`` costs one GET on first access and is then cached on the invoice; it is
``None`` when the id is empty (FreshBooks writes 0 for "none").  Assigning an object sets the
id field.  When the row already carries the related object (an ``include[]`` such as a
payment's ``client`` or an expense's ``category``), no request is sent at all.

``ToMany`` is the reverse: a queryset filtered on the related resource::

    invoices = ToMany["Invoice"]("invoices", "customerid")   # customer.invoices

``QuerySet.select_related("customer")`` loads a to-one relation for a whole page of rows with
one extra request: the distinct ids of the page go into the related resource's "In" filter on
its primary key (``search[userids][]=...``).  Resources whose API has no such filter fall back
to one GET per distinct id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from . import registry

if TYPE_CHECKING:
    from ..http.transport import Client
    from .model import Model
    from .queryset import QuerySet

__all__ = ["Relation", "ToMany", "ToOne"]

T = TypeVar("T", bound="Model")

_CACHE = "_related"


class Relation(Generic[T]):
    """Base of ``ToOne`` and ``ToMany``: a named link to the resource registered as ``target``."""

    many = False

    def __init__(self, target: str) -> None:
        self.target = target
        self.name = ""
        self.owner: type[Model] | None = None

    def __set_name__(self, owner: type[Model], name: str) -> None:
        self.name = name
        self.owner = owner

    @property
    def model(self) -> type[T]:
        """The related model class (looked up in the registry on first use)."""
        return registry.get_model(self.target)  # type: ignore[return-value]

    def _client(self, obj: Model) -> Client | None:
        return obj._meta.client_of(obj)

    def __repr__(self) -> str:
        owner = self.owner.__name__ if self.owner else "?"
        return f"<{type(self).__name__} {owner}.{self.name} -> {self.target}>"


class ToOne(Relation[T]):
    """The object named by this object's ``field`` (an id), fetched once and cached.

    ``embedded`` is the key under which an ``include[]`` puts the whole related object in the
    row, when the API has such an include.
    """

    def __init__(self, target: str, field: str, *, embedded: str | None = None) -> None:
        super().__init__(target)
        self.field = field
        self.embedded = embedded

    @overload
    def __get__(self, obj: None, owner: Any = None) -> ToOne[T]: ...

    @overload
    def __get__(self, obj: Model, owner: Any = None) -> T | None: ...

    def __get__(self, obj: Model | None, owner: Any = None) -> ToOne[T] | T | None:
        if obj is None:
            return self
        fk = self.id_of(obj)
        if fk is None:
            return None
        cache = obj.__dict__.setdefault(_CACHE, {})
        cached = cache.get(self.name)
        if cached is not None and cached.pk == fk:
            return cached  # type: ignore[no-any-return]
        related = self._embedded(obj, fk)
        if related is None:
            related = self.model.objects.using(self._client(obj)).get(fk)  # type: ignore[arg-type]
        cache[self.name] = related
        return related

    def __set__(self, obj: Model, value: T | None) -> None:
        if value is not None and not isinstance(value, self.model):
            raise TypeError(
                f"{type(obj).__name__}.{self.name} takes a {self.model.__name__} or None, "
                f"got {value!r}"
            )
        if value is not None and value.pk is None:
            raise ValueError(f"save this {self.model.__name__} before linking it")
        setattr(obj, self.field, None if value is None else value.pk)
        obj.__dict__.setdefault(_CACHE, {})[self.name] = value

    def id_of(self, obj: Model) -> Any:
        """The related object's id, or None when there is none (FreshBooks writes 0)."""
        fk = getattr(obj, self.field)
        return fk if fk not in (None, 0, "", "0") else None

    def is_cached(self, obj: Model) -> bool:
        return self.name in obj.__dict__.get(_CACHE, {})

    def _embedded(self, obj: Model, fk: Any) -> T | None:
        if self.embedded is None:
            return None
        raw = obj._meta.wire_data(obj).get(self.embedded)
        if not isinstance(raw, dict):
            return None
        related = self.model.from_wire(dict(raw), self._client(obj))
        return related if related.pk == fk else None

    def prefetch(self, objs: Iterable[Model], client: Client) -> int:
        """Load this relation for every object with as few requests as the API allows.

        Returns the number of requests sent: one per 100 distinct ids when the related
        resource has an "In" filter on its primary key, else one per distinct id.
        """
        rows = [obj for obj in objs if self.id_of(obj) is not None and not self.is_cached(obj)]
        wanted = []
        for obj in rows:
            related = self._embedded(obj, self.id_of(obj))
            if related is not None:
                obj.__dict__.setdefault(_CACHE, {})[self.name] = related
            else:
                wanted.append(obj)
        ids = list(dict.fromkeys(self.id_of(obj) for obj in wanted))
        if not ids:
            return 0
        model = self.model
        meta = model._meta
        found: dict[Any, T] = {}
        requests = 0
        if meta.pk_in_filter is not None:
            per_page = meta.resource.max_per_page if meta.resource else 100
            for start in range(0, len(ids), per_page):
                chunk = ids[start : start + per_page]
                qs = model.objects.using(client).filter(**{meta.pk_in_filter: chunk})
                for related in qs[: len(chunk)]:
                    found[related.pk] = related
                requests += 1
        else:
            for pk in ids:
                try:
                    found[pk] = model.objects.using(client).get(pk)
                except model.DoesNotExist:
                    pass
                requests += 1
        for obj in wanted:
            related = found.get(self.id_of(obj))
            if related is not None:  # a missing one is left to a GET on access (it raises)
                obj.__dict__.setdefault(_CACHE, {})[self.name] = related
        return requests


class ToMany(Relation[T]):
    """The objects of ``target`` whose ``filter`` equals this object's primary key."""

    many = True

    def __init__(self, target: str, filter: str) -> None:
        super().__init__(target)
        self.filter = filter

    @overload
    def __get__(self, obj: None, owner: Any = None) -> ToMany[T]: ...

    @overload
    def __get__(self, obj: Model, owner: Any = None) -> QuerySet[T]: ...

    def __get__(self, obj: Model | None, owner: Any = None) -> ToMany[T] | QuerySet[T]:
        if obj is None:
            return self
        if obj.pk is None:
            raise ValueError(
                f"this {type(obj).__name__} is not saved yet, so it has no {self.name}"
            )
        qs = self.model.objects.filter(**{self.filter: obj.pk})
        client = self._client(obj)
        return qs.using(client) if client is not None else qs
