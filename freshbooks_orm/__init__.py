"""freshbooks_orm: a Django-style ORM for the FreshBooks accounting API.

>>> from freshbooks_orm import Invoice
>>> qs = Invoice.objects.filter(v3_status="sent", date_min="2024-01-01")   # no I/O yet

See README.rst for the tour.
"""

import logging

from ._version import __version__

logging.getLogger("freshbooks_orm").addHandler(logging.NullHandler())

from . import registry  # noqa: E402
from .aggregates import Avg, Count, Max, Min, Sum  # noqa: E402
from .auth import authorization_url, exchange_code  # noqa: E402
from .errors import (  # noqa: E402
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    FieldValueError,
    FilterNotAppliedError,
    FreshBooksError,
    InvalidFieldValue,
    InvalidFilterValue,
    JournalError,
    MalformedResponseError,
    MixedCurrencyError,
    MultipleObjectsReturned,
    NotFound,
    PermissionDenied,
    RateLimitError,
    ReadOnlyFieldError,
    RunInUseError,
    RunStateError,
    ServerError,
    TransportError,
    UncertainWriteError,
    UnknownFieldError,
    UnknownFilterError,
    UnknownRunError,
    UnsupportedOperationError,
    UnverifiableFilterError,
    UsageError,
    ValidationError,
)
from .lookups import Q  # noqa: E402
from .queryset import QuerySet  # noqa: E402
from .resources.common import VisState  # noqa: E402
from .resources.credit_notes import CreditNote, CreditNoteLine  # noqa: E402
from .resources.customers import Contact, Customer  # noqa: E402
from .resources.estimates import Estimate, EstimateLine, EstimateStatus  # noqa: E402
from .resources.expenses import Expense, ExpenseCategory, ExpenseStatus  # noqa: E402
from .resources.invoices import V3_STATUSES, Invoice, InvoiceLine, InvoiceStatus  # noqa: E402
from .resources.items import Item  # noqa: E402
from .resources.payments import Payment  # noqa: E402
from .resources.recurring_profiles import RecurringProfile, RecurringProfileLine  # noqa: E402
from .resources.taxes import Tax  # noqa: E402
from .tokens import FileTokenStore, LockingTokenStore, TokenStore  # noqa: E402
from .transport import Client, RetryPolicy, configure  # noqa: E402
from .types import Money  # noqa: E402

__all__ = [
    "V3_STATUSES",
    "AuthenticationError",
    "Avg",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "Count",
    "CreditNote",
    "CreditNoteLine",
    "Customer",
    "Estimate",
    "EstimateLine",
    "EstimateStatus",
    "Expense",
    "ExpenseCategory",
    "ExpenseStatus",
    "FieldValueError",
    "FileTokenStore",
    "FilterNotAppliedError",
    "FreshBooksError",
    "InvalidFieldValue",
    "InvalidFilterValue",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "JournalError",
    "LockingTokenStore",
    "MalformedResponseError",
    "Max",
    "Min",
    "MixedCurrencyError",
    "Money",
    "MultipleObjectsReturned",
    "NotFound",
    "Payment",
    "PermissionDenied",
    "Q",
    "QuerySet",
    "RateLimitError",
    "ReadOnlyFieldError",
    "RecurringProfile",
    "RecurringProfileLine",
    "RetryPolicy",
    "RunInUseError",
    "RunStateError",
    "ServerError",
    "Sum",
    "Tax",
    "TokenStore",
    "TransportError",
    "UncertainWriteError",
    "UnknownFieldError",
    "UnknownFilterError",
    "UnknownRunError",
    "UnsupportedOperationError",
    "UnverifiableFilterError",
    "UsageError",
    "ValidationError",
    "VisState",
    "__version__",
    "authorization_url",
    "configure",
    "exchange_code",
    "registry",
]
