"""``Model._meta``: everything the library knows about one resource, in one documented place.

Like Django's ``Options`` and peewee's ``Metadata``, every model class carries one ``_meta``
object built by ``@resource(...)`` from the class's declarations.  Batch, the CLI, the sandbox
tests and the benchmarks read a model through it, never through private names:

>>> from freshbooks_orm import Invoice
>>> Invoice._meta.name, Invoice._meta.pk, Invoice._meta.pk_filter
('invoices', 'id', 'invoiceid')
>>> Invoice._meta.lifecycle.delete_style
'PUT vis_state=1'
>>> sorted(Invoice._meta.nested)
['lines']

A ``Lifecycle`` says what ``delete()``, ``restore()`` and ``archive()`` send for a resource:
most accounting resources change ``vis_state`` (1 deleted, 0 active, 2 archived) in a PUT that
carries nothing else, because FreshBooks applies only the state key of such a PUT and silently
drops the rest; some (taxes, estimates) are deleted with an HTTP DELETE; expense categories
cannot be written at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import UnknownFieldError, closest
from .fields import FieldKind, FieldSpec
from .query import ResourceSpec

if TYPE_CHECKING:
    from ..http.transport import Client
    from .model import Model
    from .relations import Relation

__all__ = ["HTTP_DELETE", "READ_ONLY", "VIS_STATE", "Lifecycle", "Options"]


@attrs.frozen
class Lifecycle:
    """What ``delete()``, ``restore()`` and ``archive()`` send, and which keys travel alone.

    ``state`` is the wire name of the state key (None when the resource has none);
    ``deleted``/``active``/``archived`` the values a state PUT sends (None: not supported);
    ``http_delete`` makes ``delete()`` an HTTP DELETE instead of a state PUT.  ``alone`` and
    ``alone_prefixes`` are the keys FreshBooks applies only when they are the whole PUT.
    """

    state: str | None = "vis_state"
    deleted: int | None = 1
    active: int | None = 0
    archived: int | None = 2
    http_delete: bool = False
    writable: bool = True
    alone: frozenset[str] = frozenset({"vis_state", "ext_vis_state"})
    alone_prefixes: tuple[str, ...] = ("action_",)

    @property
    def delete_style(self) -> str:
        """How ``delete()`` reaches the server, in words (for docs and the CLI)."""
        if not self.writable:
            return "not supported (read-only)"
        if self.http_delete:
            return "HTTP DELETE"
        if self.state is not None and self.deleted is not None:
            return f"PUT {self.state}={self.deleted}"
        return "not supported"  # pragma: no cover - no resource declares this

    def travels_alone(self, key: str) -> bool:
        """Whether FreshBooks drops every other key of a PUT that carries ``key``."""
        return key in self.alone or key.startswith(self.alone_prefixes)


#: ``vis_state`` 1 deleted / 0 active / 2 archived, each sent alone in a PUT.
VIS_STATE = Lifecycle()
#: Deleted with an HTTP DELETE; no state key (taxes).
HTTP_DELETE = Lifecycle(state=None, deleted=None, active=None, archived=None, http_delete=True)
#: Neither created, updated nor deleted through the API (expense categories).
READ_ONLY = Lifecycle(deleted=None, active=None, archived=None, writable=False)


class Options:
    """The metadata of one model class (``Model._meta``).

    Attributes::

        ``model``            the model class
        ``name``             its name in the registry (``"invoices"``), None for sub-objects
        ``resource``         its ``ResourceSpec`` (path, envelope keys, ``filters``, ``lookups``,
                             ``includes``, ``sorts``), None for sub-objects such as lines;
                             its ``lookups`` include the derived ones
                             (``ResourceSpec.with_derived_lookups``)
        ``fields``           attribute name -> ``FieldSpec``, in declaration order
        ``nested``           the nested-list fields among them (``lines``, ``contacts``)
        ``fields_by_wire``   wire key -> ``FieldSpec`` (see ``field_by_wire()``)
        ``pk``               the attribute holding the primary key (``"id"``)
        ``pk_filter``        the Equals filter on the primary key (``"invoiceid"``) or None
        ``pk_in_filter``     the In filter on the primary key (``"invoiceids"``) or None
        ``pk_lookups``       keyword names ``get()`` reads as "the primary key"
        ``concurrency_field`` the wire key that moves on every change (``"updated"``) or None
        ``lifecycle``        a ``Lifecycle``: what delete/restore/archive send
        ``relations``        relation name -> ``ToOne``/``ToMany`` descriptor
        ``read_only``        True when the API cannot write this resource
        ``repr_fields``      the fields ``repr()`` shows
        ``list_columns``     the fields a table of these objects shows (the CLI's ``list``)
    """

    def __init__(
        self,
        model: type[Model],
        *,
        name: str | None,
        resource: ResourceSpec | None,
        fields: Mapping[str, FieldSpec],
        pk: str,
        pk_filter: str | None,
        pk_in_filter: str | None,
        concurrency_field: str | None,
        lifecycle: Lifecycle,
        relations: Mapping[str, Relation[Any]],
        repr_fields: tuple[str, ...],
        list_columns: tuple[str, ...] = (),
    ) -> None:
        if resource is not None:
            resource = resource.with_derived_lookups(pk_filter, pk_in_filter)
        self.model = model
        self.name = name
        self.resource = resource
        self.fields: Mapping[str, FieldSpec] = dict(fields)
        self.nested: Mapping[str, FieldSpec] = {n: f for n, f in fields.items() if f.is_nested}
        self.fields_by_wire: Mapping[str, FieldSpec] = {f.wire: f for f in fields.values()}
        self.wire_names = frozenset(self.fields_by_wire)
        self.sendable_names = tuple(n for n, f in fields.items() if f.sendable)
        self.pk = pk
        self.pk_filter = pk_filter
        self.pk_in_filter = pk_in_filter
        self.pk_lookups = frozenset(n for n in ("pk", pk, pk_filter) if n)
        self.concurrency_field = concurrency_field
        self.lifecycle = lifecycle
        self.relations: Mapping[str, Relation[Any]] = dict(relations)
        self.repr_fields = repr_fields or (pk,)
        self.list_columns = list_columns or self.repr_fields
        for column in (*repr_fields, *list_columns):
            if column not in fields:
                raise TypeError(f"{model.__name__}: {column!r} is not a declared field")
        self.state_field: FieldSpec | None = next(
            (f for f in fields.values() if f.kind is FieldKind.STATE), None
        )
        if resource is not None:
            for check in (pk_filter, pk_in_filter):
                if check is not None and check not in resource.filters:
                    raise TypeError(f"{model.__name__}: {check!r} is not a declared filter")

    def __repr__(self) -> str:
        return f"<Options for {self.model.__name__}>"

    @property
    def read_only(self) -> bool:
        return not self.lifecycle.writable

    @property
    def label(self) -> str:
        """The model's class name, for messages."""
        return self.model.__name__

    def field(self, name: str) -> FieldSpec:
        """The ``FieldSpec`` of ``name``; an unknown name raises ``UnknownFieldError``."""
        try:
            return self.fields[name]
        except KeyError:
            hint = closest(name, self.fields)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            raise UnknownFieldError(
                f"{self.label} has no field {name!r}.{did_you_mean} "
                f"Fields: {', '.join(self.fields)}."
            ) from None

    def field_by_wire(self, wire: str) -> FieldSpec | None:
        """The field sent and read under the wire key ``wire``, or None."""
        return self.fields_by_wire.get(wire)

    def includes_for(self, names: Iterable[str]) -> tuple[str, ...]:
        """The ``include[]`` values a request needs to return the nested fields in ``names``."""
        out = []
        for name in names:
            spec = self.fields.get(name)
            if spec is not None and spec.include is not None:
                out.append(spec.include)
        return tuple(dict.fromkeys(out))

    def pk_filters(self, values: Iterable[Any]) -> dict[str, Any]:
        """Filter keyword arguments that select the objects with these primary keys."""
        ids = list(values)
        if self.pk_in_filter is not None:
            return {self.pk_in_filter: ids}
        if self.pk_filter is not None and len(ids) == 1:
            return {self.pk_filter: ids[0]}
        raise TypeError(f"{self.label} has no filter that selects several objects by id")

    # --- per-object access (the documented way to reach an object's wire data) ----------------

    @staticmethod
    def wire_data(obj: Model) -> dict[str, Any]:
        """The dict the server last sent for ``obj`` (read it, do not change it)."""
        return obj.__dict__["_raw"]  # type: ignore[no-any-return]

    @staticmethod
    def client_of(obj: Model) -> Client | None:
        """The client ``obj`` was loaded or saved with, if any."""
        return obj.__dict__.get("_client")

    @staticmethod
    def set_client(obj: Model, client: Client | None) -> None:
        """Make ``obj`` talk through ``client`` (batch plans use a read-only stand-in)."""
        obj.__dict__["_client"] = client
