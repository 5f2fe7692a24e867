"""The sandbox's resources: one module of declarations per FreshBooks resource.

``REGISTRY`` maps each resource's name to its :class:`~.base.Resource`; the server's route table
and the generic store are built from it.  Adding a resource is one module here plus its entry.
"""

from __future__ import annotations

from .base import Resource
from .clients import CLIENTS
from .estimates import ESTIMATES
from .invoices import INVOICES
from .payments import PAYMENTS

__all__ = ["REGISTRY", "Resource"]

REGISTRY: dict[str, Resource] = {res.name: res for res in (INVOICES, CLIENTS, PAYMENTS, ESTIMATES)}
