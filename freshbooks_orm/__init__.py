"""freshbooks_orm: a Django-style ORM for the FreshBooks accounting API.

>>> from freshbooks_orm import Invoice
>>> qs = Invoice.objects.filter(v3_status="sent", date_min="2024-01-01")   # no I/O yet

See README.rst for the tour.
"""

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

logging.getLogger("freshbooks_orm").addHandler(logging.NullHandler())

#: Module paths of version 0.1 (a flat package) -> where the modules live now.  The layers have
#: folders: ``http`` (transport, auth, tokens), ``orm`` (types, fields, options, model, query,
#: queryset, registry, relations, lookups, planner, aggregates, display), ``resources``,
#: ``batch`` (with its journal), ``cli``, ``testing``, ``sandbox``.
MOVED_MODULES = {
    "transport": "http.transport",
    "auth": "http.auth",
    "tokens": "http.tokens",
    "types": "orm.types",
    "fields": "orm.fields",
    "options": "orm.options",
    "model": "orm.model",
    "query": "orm.query",
    "queryset": "orm.queryset",
    "registry": "orm.registry",
    "relations": "orm.relations",
    "lookups": "orm.lookups",
    "planner": "orm.planner",
    "aggregates": "orm.aggregates",
    "display": "orm.display",
    "journal": "batch.journal",
    "invoices": "resources.invoices",
    "cli_auth": "cli.auth",
    "pytest_plugin": "testing.pytest_plugin",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import freshbooks_orm.model`` (a 0.1 path) gives the module ``freshbooks_orm.orm.model``
    itself, imported only when asked for; monkeypatching through either name is the same."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def __init__(self) -> None:
        self._real_specs: dict[str, Any] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(
            f"{__name__}.{MOVED_MODULES[spec.name.rpartition('.')[2]]}"
        )
        self._real_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system set the alias's spec on the real module: give it its own back
        alias = module.__spec__.name if module.__spec__ is not None else ""
        module.__spec__ = self._real_specs.pop(alias, module.__spec__)


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())

from . import resources  # noqa: E402,F401  (declares every resource to the registry by name)
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
from .http.auth import authorization_url, exchange_code  # noqa: E402
from .http.tokens import FileTokenStore, LockingTokenStore, TokenStore  # noqa: E402
from .http.transport import Client, RetryPolicy, configure  # noqa: E402
from .orm import registry  # noqa: E402

#: What loads on first use (PEP 562): the module under this package -> the names it gives.  The
#: resources, the query layer and the aggregates cost attrs-built classes at import; a program
#: that uses invoices pays for invoices only.  The errors, the client and the registry stay
#: eager.  The same names are imported under ``TYPE_CHECKING`` below, for type checkers.
LAZY: dict[str, tuple[str, ...]] = {
    "orm.aggregates": ("Avg", "Count", "Max", "Min", "Sum"),
    "orm.lookups": ("Q",),
    "orm.queryset": ("QuerySet",),
    "orm.types": ("Money",),
    "resources.common": ("VisState",),
    "resources.credit_notes": ("CreditNote", "CreditNoteLine"),
    "resources.customers": ("Contact", "Customer"),
    "resources.estimates": ("Estimate", "EstimateLine", "EstimateStatus"),
    "resources.expenses": ("Expense", "ExpenseCategory", "ExpenseStatus"),
    "resources.invoices": ("V3_STATUSES", "Invoice", "InvoiceLine", "InvoiceStatus"),
    "resources.items": ("Item",),
    "resources.payments": ("Payment",),
    "resources.recurring_profiles": ("RecurringProfile", "RecurringProfileLine"),
    "resources.taxes": ("Tax",),
}
_LAZY_MODULE = {name: module for module, names in LAZY.items() for name in names}

if TYPE_CHECKING:
    from .orm.aggregates import Avg, Count, Max, Min, Sum
    from .orm.lookups import Q
    from .orm.queryset import QuerySet
    from .orm.types import Money
    from .resources.common import VisState
    from .resources.credit_notes import CreditNote, CreditNoteLine
    from .resources.customers import Contact, Customer
    from .resources.estimates import Estimate, EstimateLine, EstimateStatus
    from .resources.expenses import Expense, ExpenseCategory, ExpenseStatus
    from .resources.invoices import V3_STATUSES, Invoice, InvoiceLine, InvoiceStatus
    from .resources.items import Item
    from .resources.payments import Payment
    from .resources.recurring_profiles import RecurringProfile, RecurringProfileLine
    from .resources.taxes import Tax
else:

    def __getattr__(name: str) -> Any:
        module = _LAZY_MODULE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        path = f"{__name__}.{module}"
        __import__(path)  # not importlib.import_module: -X importtime reports this import
        value = getattr(sys.modules[path], name)
        globals()[name] = value  # the next access is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY_MODULE})


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
