"""Side-by-side benchmarks of freshbooks_orm against the embedded sandbox: ``python -m bench``.

1. ``iterate``: every invoice, ours against a ``requests`` + ``json`` page loop and FreshBooks'
   SDK.
2. ``requests``: requests per operation, read from the sandbox's log.
3. ``hydration``: wire dicts to ``Invoice`` objects against ``json.loads`` of the payload.
4. ``memory``: peak memory of ``iterator()`` against ``list()``, each in a fresh process.
5. ``concurrency``: latency-bound paging and bulk updates, sequential against concurrent.

See ``docs/benchmarks.md`` for the latest results and the method.
"""
