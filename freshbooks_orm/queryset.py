"""Lazy, chainable querysets with Django's contract and the fewest requests FreshBooks allows.

Nothing touches the network until a queryset is evaluated (iteration, ``len``, ``bool``,
``list``, indexing, ``count``, ``exists``, ``first``, ``get``).  Chaining returns a new queryset.
An evaluated queryset caches its rows and answers ``len``/``count``/``exists``/indexing from
the cache.  Request counts:

=========================  ==================================================================
``count()``                one request (``per_page=1``, read ``total``)
``exists()``, ``first()``  one request
``qs[i]``                  one request (``per_page=1``, ``page=i+1``)
``qs[a:b]``                one request when some page size <= 100 holds rows a..b-1
iteration, ``len``         ``ceil(N / 100)`` requests at ``per_page=100``
``get(pk)``                one GET of the single resource
``iterator()``             streams page by page and keeps nothing
=========================  ==================================================================

Iteration never yields the same object twice: when the matched set shifts between two page
requests (an object created or deleted meanwhile), a row can come back on two pages; the repeat
is dropped (by primary key).  ``iterator(stats=PageStats())`` reports what the pages saw, so a
caller can tell that the set moved while it was read (``stats.moved``) and read it again.
"""

from __future__ import annotations

import collections
import copy
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs

from .errors import InvalidFilterValue, NotFound, closest, short_repr
from .query import Query, ResourceSpec, page_window
from .transport import Client, default_client
from .types import to_int

if TYPE_CHECKING:
    from .batch import BatchResult
    from .model import Model

__all__ = ["PageStats", "QuerySet"]

M = TypeVar("M", bound="Model")


class PageStats:
    """What one iteration saw: each page's ``total`` and the rows dropped as repeats."""

    def __init__(self) -> None:
        self.totals: list[int | None] = []  # None: the page did not say
        self.repeats = 0

    @property
    def moved(self) -> bool:
        """True when the matched set changed while the pages were read."""
        return self.repeats > 0 or len({t for t in self.totals if t is not None}) > 1

    def __repr__(self) -> str:
        return f"<PageStats totals={self.totals} repeats={self.repeats}>"


class QuerySet(Generic[M]):
    """A lazy list query over one resource."""

    def __init__(self, model: type[M], query: Query | None = None, client: Client | None = None):
        self.model = model
        self._query = query if query is not None else Query(_spec_of(model))
        self._client = client
        self._low = 0
        self._high: int | None = None
        self._related: tuple[str, ...] = ()
        self._cache: list[M] | None = None

    def __repr__(self) -> str:
        if self._cache is not None:
            return f"<QuerySet {self._cache[:5]!r}{'...' if len(self._cache) > 5 else ''}>"
        return f"<QuerySet {self.model.__name__} {list(self._query.list_params())} (unevaluated)>"

    # --- pickling and copying ----------------------------------------------------------------
    # Like a model, a queryset travels without its client (an unpickled one uses the default
    # client, or ``using()``); its filters travel, and its rows when it was evaluated.  Pickling
    # never sends a request.  The resource spec is the model's, so it is not pickled either.

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        query = state["_query"]
        state["_query"] = {
            f.name: getattr(query, f.name) for f in attrs.fields(type(query)) if f.name != "spec"
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        query_fields = state.pop("_query")
        self.__dict__.update(state)
        self._query = attrs.evolve(Query(_spec_of(self.model)), **query_fields)

    def __copy__(self) -> QuerySet[M]:
        qs = object.__new__(type(self))
        qs.__dict__.update(self.__dict__)
        return qs

    def __deepcopy__(self, memo: dict[int, Any]) -> QuerySet[M]:
        """A deep copy (its cached rows too) that shares the client and the immutable query."""
        qs = object.__new__(type(self))
        memo[id(self)] = qs
        for key, value in self.__dict__.items():
            shared = key in ("_client", "_query", "model")
            qs.__dict__[key] = value if shared else copy.deepcopy(value, memo)
        return qs

    # --- chaining --------------------------------------------------------------------------------

    def _clone(self, query: Query | None = None, client: Client | None = None) -> QuerySet[M]:
        qs: QuerySet[M] = QuerySet(self.model, query or self._query, client or self._client)
        qs._low, qs._high = self._low, self._high
        qs._related = self._related
        return qs

    def _not_sliced(self, action: str) -> None:
        if self._low or self._high is not None:
            raise TypeError(f"cannot {action} a queryset once a slice has been taken")

    def all(self) -> QuerySet[M]:
        """Return a new queryset over the same rows (without the cache)."""
        return self._clone()

    def filter(self, **filters: Any) -> QuerySet[M]:
        """Return a new queryset narrowed by API filters; unknown names raise at once."""
        self._not_sliced("filter")
        return self._clone(self._query.with_filters(**filters))

    def include(self, *names: str) -> QuerySet[M]:
        """Return a new queryset that asks for sub-objects (``include[]=lines``)."""
        return self._clone(self._query.with_includes(*names))

    def order_by(self, field: str) -> QuerySet[M]:
        """Return a new queryset sorted by ``field`` (``"create_date"`` or ``"-create_date"``)."""
        self._not_sliced("reorder")
        return self._clone(self._query.with_sort(field))

    def select_related(self, *names: str) -> QuerySet[M]:
        """Return a new queryset that loads these to-one relations with each page of rows.

        Each relation costs at most one extra request per page (an "In" filter on the related
        resource's ids), never one per row; the related objects are cached on their rows.
        """
        relations = self.model._meta.relations
        valid = sorted(n for n, r in relations.items() if not r.many)
        for name in names:
            relation = relations.get(name)
            if relation is None or relation.many:
                hint = closest(name, valid)
                did_you_mean = f" Did you mean {hint!r}?" if hint else ""
                raise InvalidFilterValue(
                    f"{self.model.__name__} has no to-one relation {name!r}.{did_you_mean} "
                    f"Valid: {', '.join(valid) or 'none'}."
                )
        qs = self._clone()
        qs._related = tuple(dict.fromkeys((*self._related, *names)))
        return qs

    def using(self, client: Client) -> QuerySet[M]:
        """Return a new queryset that talks through ``client``; its objects remember it."""
        return self._clone(client=client)

    @property
    def query(self) -> Query:
        return self._query

    @property
    def limits(self) -> tuple[int, int | None]:
        """The slice taken so far as ``(low, high)``; ``(0, None)`` when none was taken."""
        return self._low, self._high

    @property
    def related(self) -> tuple[str, ...]:
        """The relations ``select_related()`` asked for."""
        return self._related

    # --- compiling -------------------------------------------------------------------------------

    def get_client(self) -> Client:
        """The client this queryset talks through: the one given to ``using()``, or the default."""
        return self._client or default_client()

    _get_client = get_client  # the 0.1 name

    def _first_window(self) -> tuple[int, int]:
        if self._high is not None:
            window = page_window(self._low, self._high, self._query.spec.max_per_page)
            if window is not None:
                return window
        per_page = self._query.spec.max_per_page
        return self._low // per_page + 1, per_page

    @property
    def url(self) -> str:
        """The exact URL evaluating this queryset sends first (no I/O)."""
        client = self._get_client()
        page, per_page = self._first_window()
        return client.url(
            self._query.spec.list_path(client.account_id), self._query.list_params(page, per_page)
        )

    # --- fetching --------------------------------------------------------------------------------

    def _fetch(
        self, client: Client, page: int, per_page: int, *, need_total: bool = False
    ) -> tuple[list[Any], int | None, int | None]:
        """One list request: (raw rows, total, pages); a malformed answer raises
        ``MalformedResponseError``, and so does one without a total when ``need_total``."""
        spec = self._query.spec
        return client.request(
            "GET",
            spec.list_path(client.account_id),
            params=self._query.list_params(page, per_page),
            expect=spec.counted_page if need_total else spec.page,
        )

    def _hydrate(self, rows: list[Any], client: Client) -> list[M]:
        from_wire = self.model.from_wire
        objs = [from_wire(row, client) for row in rows]
        relations = self.model._meta.relations
        for name in self._related:
            relations[name].prefetch(objs, client)  # type: ignore[attr-defined]
        return objs

    def _pages(self, prefetch: int = 0, stats: PageStats | None = None) -> Iterator[list[M]]:
        """Yield hydrated pages covering rows [low, high) with the fewest requests, each
        object once (a row repeated by a shifting set is dropped and counted in ``stats``)."""
        if self._query.empty or (self._high is not None and self._high <= self._low):
            return
        stats = stats if stats is not None else PageStats()
        seen: set[Any] = set()
        client = self._get_client()
        low, high = self._low, self._high
        page, per_page = self._first_window()
        rows, total, pages = self._fetch(client, page, per_page)
        stats.totals.append(total)
        skip = low - (page - 1) * per_page
        wanted = None if high is None else high - low
        chunk = rows[skip:] if wanted is None else rows[skip : skip + wanted]
        yield self._once(self._hydrate(chunk, client), seen, stats)
        if wanted is not None:
            wanted -= len(chunk)
        if (
            (wanted is not None and wanted <= 0)
            or (pages is not None and page >= pages)
            or len(rows) < per_page
        ):
            return
        last = sys.maxsize if pages is None else pages  # no page count: read until a short page
        if wanted is not None:
            last = min(last, (high - 1) // per_page + 1)  # type: ignore[operator]
        following = self._following(client, range(page + 1, last + 1), per_page, prefetch)
        for rows, total in following:
            stats.totals.append(total)
            chunk = rows if wanted is None else rows[:wanted]
            if chunk:
                yield self._once(self._hydrate(chunk, client), seen, stats)
            if wanted is not None:
                wanted -= len(chunk)
                if wanted <= 0:
                    return
            if len(rows) < per_page:
                return

    @staticmethod
    def _once(objs: list[M], seen: set[Any], stats: PageStats) -> list[M]:
        out = []
        for obj in objs:
            if obj.pk in seen:
                stats.repeats += 1
                continue
            seen.add(obj.pk)
            out.append(obj)
        return out

    def _following(
        self, client: Client, page_numbers: range, per_page: int, prefetch: int
    ) -> Iterator[tuple[list[Any], int | None]]:
        if prefetch <= 0:
            for number in page_numbers:
                rows, total, _pages = self._fetch(client, number, per_page)
                yield rows, total
            return
        # Fetch ahead in a pool once the page count is known; yield strictly in order.
        with ThreadPoolExecutor(max_workers=prefetch) as pool:
            pending: collections.deque[Future[tuple[list[Any], int | None, int | None]]] = (
                collections.deque()
            )
            numbers = iter(page_numbers)
            try:
                for number in numbers:
                    pending.append(pool.submit(self._fetch, client, number, per_page))
                    if len(pending) >= prefetch:
                        break
                while pending:
                    rows, total, _pages = pending.popleft().result()
                    next_number = next(numbers, None)
                    if next_number is not None:
                        pending.append(pool.submit(self._fetch, client, next_number, per_page))
                    yield rows, total
            finally:
                for future in pending:
                    future.cancel()

    def iterator(self, prefetch: int = 0, *, stats: PageStats | None = None) -> Iterator[M]:
        """Stream the rows page by page without caching them, each object once.

        ``prefetch=N`` fetches up to N pages ahead in a thread pool (for high-latency links);
        rows still come out in order.  ``stats``, a ``PageStats``, records each page's total
        and the repeats dropped, so a caller can see that the set moved while it was read.
        """
        for page in self._pages(prefetch=prefetch, stats=stats):
            yield from page

    def _fetch_all(self) -> list[M]:
        if self._cache is None:
            cache: list[M] = []
            for page in self._pages():
                cache.extend(page)
            self._cache = cache
        return self._cache

    # --- evaluation ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[M]:
        return iter(self._fetch_all())

    def __len__(self) -> int:
        return len(self._fetch_all())

    def __bool__(self) -> bool:
        return bool(self._fetch_all())

    @overload
    def __getitem__(self, key: int) -> M: ...

    @overload
    def __getitem__(self, key: slice) -> QuerySet[M] | list[M]: ...

    def __getitem__(self, key: int | slice) -> M | QuerySet[M] | list[M]:
        if isinstance(key, slice):
            if (key.start is not None and key.start < 0) or (key.stop is not None and key.stop < 0):
                raise ValueError("negative indexing is not supported")
            if self._cache is not None:
                return self._cache[key]
            start = self._low + (key.start or 0)
            stop = None if key.stop is None else self._low + key.stop
            if self._high is not None:
                stop = self._high if stop is None else min(stop, self._high)
            qs = self._clone()
            qs._low, qs._high = start, stop
            if key.step not in (None, 1):
                return list(qs)[:: key.step]
            return qs
        if not isinstance(key, int):
            raise TypeError(
                f"queryset indices must be integers or slices, not {type(key).__name__}"
            )
        if key < 0:
            raise ValueError("negative indexing is not supported")
        if self._cache is not None:
            return self._cache[key]
        position = self._low + key
        if self._high is not None and position >= self._high:
            raise IndexError("queryset index out of range")
        qs = self._clone()
        qs._low, qs._high = position, position + 1
        rows = qs._fetch_all()
        if not rows:
            raise IndexError("queryset index out of range")
        return rows[0]

    # --- data out ------------------------------------------------------------------------------

    def to_dataframe(self, *fields: str) -> Any:
        """A pandas DataFrame of the rows, one column per field (every field when none given).

        Money fields become two columns, the ``Decimal`` amount and ``<field>_currency``; dates
        stay ``datetime.date``, ints and bools get pandas' nullable types, enums their lower-case
        names.  Rows are read as iteration reads them (``ceil(N / 100)`` requests, or none when
        the queryset is already evaluated).  Needs ``pip install 'freshbooks-orm[pandas]'``.
        """
        from .display import dataframe, frame_fields

        frame_fields(self.model, fields)  # unknown names raise before any request
        rows = self._cache if self._cache is not None else self.iterator()
        return dataframe(self.model, rows, fields)

    def _repr_html_(self) -> str:
        """A notebook table of the first rows (at most one request), saying how many there are."""
        from .display import queryset_html

        return queryset_html(self)

    def _preview(self, limit: int) -> tuple[list[M], int | None, bool]:
        """Up to ``limit`` rows, the total when known, and whether there are more; one request."""
        if self._cache is not None:
            return self._cache[:limit], len(self._cache), len(self._cache) > limit
        if self._query.empty:
            return [], 0, False
        if not self._low and self._high is None:
            client = self._get_client()
            rows, total, _pages = self._fetch(client, 1, limit)
            more = total > limit if total is not None else len(rows) >= limit
            return self._hydrate(rows[:limit], client), total, more
        qs = self._clone()
        qs._low = self._low
        qs._high = (
            self._low + limit + 1 if self._high is None else min(self._high, self._low + limit + 1)
        )
        rows = list(qs)
        return rows[:limit], None, len(rows) > limit

    def count(self) -> int:
        """Number of rows: from the cache, or one ``per_page=1`` request."""
        if self._cache is not None:
            return len(self._cache)
        if self._query.empty:
            return 0
        client = self._get_client()
        _rows, total, _pages = self._fetch(client, 1, 1, need_total=True)
        assert total is not None
        high = total if self._high is None else min(total, self._high)
        return max(0, high - self._low)

    def exists(self) -> bool:
        """Whether any row matches: from the cache, or one request."""
        if self._cache is not None:
            return bool(self._cache)
        return self.first() is not None

    def first(self) -> M | None:
        """The first row or None: from the cache, or one request."""
        if self._cache is not None:
            return self._cache[0] if self._cache else None
        try:
            return self[0]
        except IndexError:
            return None

    def get(self, *args: Any, **filters: Any) -> M:
        """The one object matching ``pk`` or ``filters``.

        ``get(pk)`` is one GET of the single resource; ``get(**filters)`` one list request.
        Raises ``Model.DoesNotExist`` or ``Model.MultipleObjectsReturned``.
        """
        if args:
            if len(args) != 1 or filters:
                raise TypeError("get() takes one primary key, or filters by name, not both")
            return self._get_pk(args[0])
        if len(filters) == 1 and next(iter(filters)) in self.model._meta.pk_lookups:
            return self._get_pk(next(iter(filters.values())))
        return self._get_listed(filters)

    def _get_listed(self, filters: dict[str, Any]) -> M:
        qs = self.filter(**filters)
        if qs._query.empty:
            raise self.model.DoesNotExist(f"no {self.model.__name__} matches {filters!r}")
        client = qs._get_client()
        rows, total, _pages = qs._fetch(client, 1, 2)
        if not rows:
            raise self.model.DoesNotExist(f"no {self.model.__name__} matches {filters!r}")
        if (total or 0) > 1 or len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"get() found {total} {self.model.__name__} objects matching {filters!r}, not one"
            )
        return qs._hydrate(rows, client)[0]

    def _get_pk(self, pk: Any) -> M:
        self._not_sliced("get() from")
        meta = self.model._meta
        if self._query.filters:  # honour the narrowing: one list request with the id added
            if meta.pk_filter is not None:
                return self._get_listed({meta.pk_filter: pk})
            return self._get_listed(meta.pk_filters([_check_pk(pk)]))
        spec = self._query.spec
        client = self._get_client()
        try:
            row = client.request(
                "GET",
                spec.detail_path(client.account_id, _check_pk(pk)),
                params=self._query.include_params() or None,
                expect=spec.required_result,
            )
        except NotFound as exc:
            ours = f"{self.model.__name__} {pk} does not exist"
            said = f" (FreshBooks said: {exc.message})" if exc.message else ""
            raise exc.recast(self.model.DoesNotExist, ours + said) from None
        return self._hydrate([row], client)[0]

    def create(self, **fields: Any) -> M:
        """Build an object from ``fields`` and POST it; return it saved."""
        obj = self.model(**fields)
        obj.save(using=self._client)
        return obj

    # --- batch writes (see freshbooks_orm.batch) -------------------------------------------------

    def update(self, **kwargs: Any) -> BatchResult:
        """Set fields on every matching object: one PUT each carrying only what changes.

        Keyword arguments that are not fields are batch options: ``dry_run``, ``workers``,
        ``journal``, ``progress``, ``note``.  See ``freshbooks_orm.batch.run``.
        """
        from .batch import OPTION_NAMES, run, set_fields

        options = {k: kwargs.pop(k) for k in list(kwargs) if k in OPTION_NAMES}
        return run(self, set_fields(self.model, kwargs), action="update", **options)

    def delete(self, **options: Any) -> BatchResult:
        """Soft-delete every matching object (one ``vis_state`` PUT each)."""
        from .batch import run

        return run(self, None, action="delete", **options)

    def apply(self, fn: Any, **options: Any) -> BatchResult:
        """Call ``fn(obj)`` on every matching object and save what it changed."""
        from .batch import run

        return run(self, fn, action="apply", **options)


def _spec_of(model: type[Model]) -> ResourceSpec:
    spec = model._meta.resource
    if spec is None:
        raise TypeError(f"{model.__name__} has no list endpoint")
    return spec


def _check_pk(pk: Any) -> int | str:
    try:
        number = to_int(pk, 0)
    except (TypeError, ValueError):
        raise InvalidFilterValue(
            f"a primary key is a positive integer, got {short_repr(pk)}"
        ) from None
    return number
