"""The resources: one module of declarations per FreshBooks resource family.

Each module declares its models with ``@resource(...)``, which registers them by name in
``freshbooks_orm.registry``; nothing here holds logic.  The modules load when first used
(``from freshbooks_orm import Invoice``, ``registry.get_model("invoices")``, a relation, a
pickle): ``RESOURCES`` tells the registry every resource's name beforehand.
"""

from __future__ import annotations

from ..orm import registry

#: Every resource: its registry name -> (its module here, its class), in the order
#: ``registry.names()`` lists them.  ``tests/test_imports.py`` checks it against the modules.
RESOURCES: dict[str, tuple[str, str]] = {
    "credit_notes": ("credit_notes", "CreditNote"),
    "customers": ("customers", "Customer"),
    "estimates": ("estimates", "Estimate"),
    "expense_categories": ("expenses", "ExpenseCategory"),
    "expenses": ("expenses", "Expense"),
    "invoices": ("invoices", "Invoice"),
    "items": ("items", "Item"),
    "payments": ("payments", "Payment"),
    "recurring_profiles": ("recurring_profiles", "RecurringProfile"),
    "taxes": ("taxes", "Tax"),
}

for _name, (_module, _class_name) in RESOURCES.items():
    registry.declare(_name, f"{__name__}.{_module}", _class_name)
del _name, _module, _class_name
