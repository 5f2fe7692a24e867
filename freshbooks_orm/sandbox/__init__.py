"""A stateful in-process stand-in for the FreshBooks accounting invoices API (like moto for AWS).

>>> from freshbooks_orm.sandbox import Sandbox
>>> with Sandbox(invoices=200, seed=1) as sb:
...     sb.url  # doctest: +ELLIPSIS
'http://127.0.0.1:...'

Standard library only.  See :class:`Sandbox` for the interface.
"""

from .core import RecordedRequest, Sandbox
from .store import StoreError

__all__ = ["RecordedRequest", "Sandbox", "StoreError"]
