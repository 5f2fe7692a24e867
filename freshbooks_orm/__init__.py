"""freshbooks_orm: a Django-style ORM for the FreshBooks accounting API."""

__version__ = "0.1.0"
