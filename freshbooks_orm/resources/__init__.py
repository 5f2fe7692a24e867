"""The resources: one module of declarations per FreshBooks resource family.

Each module declares its models with ``@resource(...)``, which registers them by name in
``freshbooks_orm.registry``; nothing here holds logic.
"""
