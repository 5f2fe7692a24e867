"""Taxes (``taxes/taxes``).

Declarations from the Taxes section of ``freshbooks-resources.md``.  Taxes have no
``vis_state``: ``delete()`` is an HTTP DELETE (presumably hard [?]) and there is no restore or
archive.  ``amount`` is a percentage sent as a decimal string (``"13"``); ``compound`` is
writable (documented; the PHP SDK omits it), sent only when set.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..orm.model import Model, computed, resource, writable
from ..orm.options import HTTP_DELETE
from ..orm.query import EqualsFilter, ResourceSpec, SearchBoolFilter
from ..orm.types import BOOL, DECIMAL_STRING, EASTERN_DATETIME, INT, STR
from .common import id_filters, updated_filters

__all__ = ["TAX_SPEC", "Tax"]

TAX_SPEC = ResourceSpec(
    name="Tax",
    path="taxes/taxes",
    single_key="tax",
    list_key="taxes",
    filters={
        f.name: f
        for f in (
            *id_filters("taxid"),
            EqualsFilter("name", doc="name contains"),
            EqualsFilter("number", doc="number contains"),
            SearchBoolFilter("compound"),
            *updated_filters(),
        )
    },
    lookups={
        "name__contains": "name",
        "number__contains": "number",
    },
)


@resource(
    TAX_SPEC,
    name="taxes",
    pk="id",
    pk_filter="taxid",
    pk_in_filter="taxids",
    concurrency="updated",
    lifecycle=HTTP_DELETE,
    repr_fields=("id", "name", "amount"),
    columns=("id", "name", "amount", "number"),
)
class Tax(Model):
    """A tax (a name and a percentage). Deleted with HTTP DELETE; no restore."""

    id: int | None = computed(INT)
    taxid: int | None = computed(INT)
    accounting_systemid: str | None = computed(STR)
    updated: dt.datetime | None = computed(EASTERN_DATETIME)
    name: str | None = writable(STR)
    amount: Decimal | None = writable(DECIMAL_STRING)
    number: str | None = writable(STR)
    compound: bool | None = writable(BOOL)
