"""The sandbox's resources: one module of declarations per FreshBooks resource.

``REGISTRY`` maps each resource's name to its :class:`~.base.Resource`; the server's route table
and the generic store are built from it.  Adding a resource is one module here plus its entry.
"""

from __future__ import annotations

from .base import Resource
from .clients import CLIENTS
from .credit_notes import CREDIT_NOTES
from .estimates import ESTIMATES
from .expense_categories import EXPENSE_CATEGORIES
from .expenses import EXPENSES
from .invoice_profiles import INVOICE_PROFILES
from .invoices import INVOICES
from .items import ITEMS
from .payments import PAYMENTS
from .taxes import TAXES

__all__ = ["REGISTRY", "Resource"]

REGISTRY: dict[str, Resource] = {
    res.name: res
    for res in (
        INVOICES,
        CLIENTS,
        PAYMENTS,
        ESTIMATES,
        CREDIT_NOTES,
        INVOICE_PROFILES,
        EXPENSES,
        EXPENSE_CATEGORIES,
        ITEMS,
        TAXES,
    )
}
