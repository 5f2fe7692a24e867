"""The 0.1 import path of the invoice declarations, now ``freshbooks_orm.resources.invoices``.

Every resource lives in ``freshbooks_orm.resources``; this module keeps
``from freshbooks_orm.invoices import Invoice`` (and the filter tables) working.
"""

from .resources.invoices import (
    INCLUDES,
    INVOICE_COLUMNS,
    INVOICE_FILTERS,
    INVOICE_LOOKUPS,
    INVOICE_SPEC,
    V3_STATUSES,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    VisState,
)

__all__ = [
    "INCLUDES",
    "INVOICE_COLUMNS",
    "INVOICE_FILTERS",
    "INVOICE_LOOKUPS",
    "INVOICE_SPEC",
    "V3_STATUSES",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "VisState",
]
