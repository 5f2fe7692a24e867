"""Lazy, chainable querysets with Django's contract and the fewest requests FreshBooks allows.

Nothing touches the network until a queryset is evaluated (iteration, ``len``, ``bool``,
``list``, indexing, ``count``, ``exists``, ``first``, ``get``, ``aggregate`` ...).  Chaining
returns a new queryset.  An evaluated queryset caches its rows and answers ``len``/``count``/
``exists``/indexing from the cache.

Each queryset runs a ``Plan`` (see ``freshbooks_orm.planner`` and ``explain()``): the API
filters it sends, the residual evaluated on each row, the ordering, and the checks every row
the server returns must pass (``FilterNotAppliedError`` otherwise).  Request counts when the
plan is *exact* (no residual, server-side or no ordering):

=========================  ==================================================================
``count()``                one request (a full page, whose rows are verified; then ``total``)
``exists()``, ``first()``  one request
``qs[i]``, ``qs[a:b]``     with server filters: one request (rows ``0..b-1``) when ``b <= 100``,
                           else the aligned pages of 100 holding the rows; without: one
                           request when some page size <= 100 holds rows a..b-1
iteration, ``len``         ``ceil(N / 100)`` requests at ``per_page=100``
``get(pk)``                one GET of the single resource
``iterator()``             streams page by page and keeps nothing
=========================  ==================================================================

With a residual or a local ordering, every page the server filters match is read
(``ceil(M / 100)`` requests); ``exists()``/``first()``/slices stop at the first page that
completes them unless the ordering is local.

Iteration never yields the same object twice: when the matched set shifts between two page
requests (an object created or deleted meanwhile), a row can come back on two pages; the repeat
is dropped (by primary key).  ``iterator(stats=PageStats())`` reports what the pages saw, so a
caller can tell that the set moved while it was read (``stats.moved``) and read it again.
"""

from __future__ import annotations

import collections
import copy
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs

from ..errors import (
    FilterNotAppliedError,
    InvalidFilterValue,
    MalformedResponseError,
    MixedCurrencyError,
    NotFound,
    UncertainWriteError,
    UnknownFieldError,
    UnverifiableFilterError,
    closest,
    short_repr,
)
from ..http.transport import Client, default_client
from .lookups import And, Node, Nothing, Q, and_of, matches
from .planner import Plan, ServerFilter, carried_key, plan, resolve, same_item
from .query import Query, ResourceSpec, page_window
from .types import Money, to_int

if TYPE_CHECKING:
    from ..batch import BatchResult
    from .model import Model

__all__ = ["Explanation", "PageStats", "QuerySet"]

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
        _spec_of(model)
        self.model = model
        self._client = client
        self._where: Node = And(())
        self._includes: tuple[str, ...] = ()
        self._ordering: tuple[str, ...] = ()
        self._reversed = False
        self._fields_mode: tuple[Any, ...] | None = None
        self._low = 0
        self._high: int | None = None
        self._related: tuple[str, ...] = ()
        self._unverified_ok = False
        self._cache: list[Any] | None = None
        self._plan_cache: Plan | None = None
        if query is not None:  # a compiled Query carries no conditions, only its includes
            self._includes = query.includes

    def __repr__(self) -> str:
        if self._cache is not None:
            return f"<QuerySet {self._cache[:5]!r}{'...' if len(self._cache) > 5 else ''}>"
        return f"<QuerySet {self.model.__name__} {self._where.describe()} (unevaluated)>"

    # --- pickling and copying ----------------------------------------------------------------
    # Like a model, a queryset travels without its client (an unpickled one uses the default
    # client, or ``using()``); its conditions travel, and its rows when it was evaluated.
    # Pickling never sends a request.  The plan is rebuilt from the declarations on use.

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        state["_plan_cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        _spec_of(state["model"])
        self.__dict__.update(state)

    def __copy__(self) -> QuerySet[M]:
        qs = object.__new__(type(self))
        qs.__dict__.update(self.__dict__)
        return qs

    def __deepcopy__(self, memo: dict[int, Any]) -> QuerySet[M]:
        """A deep copy (its cached rows too) that shares the client and the immutable plan."""
        qs = object.__new__(type(self))
        memo[id(self)] = qs
        for key, value in self.__dict__.items():
            shared = key in ("_client", "_plan_cache", "_where", "model")
            qs.__dict__[key] = value if shared else copy.deepcopy(value, memo)
        return qs

    # --- chaining --------------------------------------------------------------------------------

    def _chain(self, **changes: Any) -> QuerySet[M]:
        qs: QuerySet[M] = object.__new__(type(self))
        qs.__dict__.update(self.__dict__)
        qs._cache = None
        qs._plan_cache = None
        for name, value in changes.items():
            setattr(qs, name, value)
        if any(k in changes for k in ("_where", "_includes", "_ordering", "_reversed")):
            qs._get_plan()  # plan now: bad names and values raise before any request
        return qs

    def _clone(self, query: Query | None = None, client: Client | None = None) -> QuerySet[M]:
        return self._chain(_client=client or self._client)

    def _not_sliced(self, action: str) -> None:
        if self._low or self._high is not None:
            raise TypeError(f"cannot {action} a queryset once a slice has been taken")

    def all(self) -> QuerySet[M]:
        """Return a new queryset over the same rows (without the cache)."""
        return self._chain()

    def filter(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Return a new queryset narrowed by lookups and ``Q`` objects (unknown names raise).

        As in Django, the conditions on a list field's items given in one call must hold for
        the same item (``filter(lines__name="Travel", lines__qty=5)``); in separate calls,
        each may hold for a different item.
        """
        self._not_sliced("filter")
        node = same_item(self._resolve(Q(*args, **kwargs)))
        return self._chain(_where=and_of([self._where, node]))

    def exclude(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Return a new queryset without the rows matching the lookups.

        As Django documents for multi-valued relations, the conditions on a list field's items
        in one ``exclude()`` call need not hold for the same item: ``exclude(lines__name="a",
        lines__qty=5)`` leaves out the rows with a line named "a" *and* a line of qty 5.
        """
        self._not_sliced("exclude")
        if not args and not kwargs:
            return self._chain()
        return self._chain(_where=and_of([self._where, self._resolve(~Q(*args, **kwargs))]))

    def _resolve(self, q: Q) -> Node:
        spec = self.model._meta.resource
        assert spec is not None
        return resolve(self.model, spec, q)

    def none(self) -> QuerySet[M]:
        """Return a queryset that matches nothing and never sends a request."""
        return self._chain(_where=Nothing())

    def include(self, *names: str) -> QuerySet[M]:
        """Return a new queryset that asks for sub-objects (``include[]=lines``)."""
        spec = self.model._meta.resource
        assert spec is not None
        Query(spec).with_includes(*names)  # validates the names
        return self._chain(_includes=tuple(dict.fromkeys((*self._includes, *names))))

    def order_by(self, *fields: str) -> QuerySet[M]:
        """Return a new queryset ordered by ``fields`` (``"-amount"`` descending).

        The server sorts when the resource documents that sort (invoices: ``create_date``);
        otherwise every matching row is read and sorted locally.  No fields: no ordering.
        """
        self._not_sliced("reorder")
        return self._chain(_ordering=tuple(fields), _reversed=False)

    def reverse(self) -> QuerySet[M]:
        """Return a new queryset in the opposite order."""
        self._not_sliced("reverse")
        return self._chain(_reversed=not self._reversed)

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
        return self._chain(_related=tuple(dict.fromkeys((*self._related, *names))))

    def allow_unverified(self) -> QuerySet[M]:
        """Return a queryset that may send API filters whose rows cannot be verified.

        Without it, evaluating a query that sends such a filter raises
        ``UnverifiableFilterError`` before any request: a server ignoring the filter would
        answer with every row, and nothing on the rows could tell.  It also trusts a filter
        whose field no row of a page carries (otherwise ``FilterNotAppliedError``).
        """
        return self._chain(_unverified_ok=True)

    def using(self, client: Client) -> QuerySet[M]:
        """Return a new queryset that talks through ``client``; its objects remember it."""
        return self._chain(_client=client)

    def values(self, *fields: str) -> QuerySet[M]:
        """Return a queryset that yields dicts of ``fields`` (all plain fields when none)."""
        return self._chain(_fields_mode=("values", self._field_names(fields), False, False))

    def values_list(self, *fields: str, flat: bool = False, named: bool = False) -> QuerySet[M]:
        """Return a queryset that yields tuples (``flat``: values; ``named``: namedtuples)."""
        if flat and named:
            raise TypeError("'flat' and 'named' can't be used together")
        if flat and len(fields) != 1:
            raise TypeError("'flat' is only valid with exactly one field")
        return self._chain(_fields_mode=("list", self._field_names(fields), flat, named))

    def _field_names(self, fields: Iterable[str]) -> tuple[str, ...]:
        declared = self.model._meta.fields
        plain = [n for n, f in declared.items() if not _is_list(f)]
        out = []
        for name in fields:
            real = self.model._meta.pk if name == "pk" else name
            if real not in declared:
                hint = closest(real, plain)
                did_you_mean = f" Did you mean {hint!r}?" if hint else ""
                raise UnknownFieldError(
                    f"{self.model.__name__} has no field {name!r}.{did_you_mean} "
                    f"Fields: {', '.join(sorted(plain))}."
                )
            out.append(real)
        return tuple(out) if out else tuple(plain)

    @property
    def query(self) -> Query:
        """The server part of the plan: the filters, includes and sort the API is sent."""
        return self._get_plan().query

    @property
    def limits(self) -> tuple[int, int | None]:
        """The slice taken so far as ``(low, high)``; ``(0, None)`` when none was taken."""
        return self._low, self._high

    @property
    def conditions(self) -> str:
        """The whole query's conditions, readable: ``"amount__gt=100 AND NOT ..."``."""
        return self._where.describe()

    @property
    def related(self) -> tuple[str, ...]:
        """The relations ``select_related()`` asked for."""
        return self._related

    # --- planning --------------------------------------------------------------------------------

    def _get_plan(self) -> Plan:
        if self._plan_cache is None:
            spec = self.model._meta.resource
            assert spec is not None
            self._plan_cache = plan(
                self.model,
                spec,
                self._where,
                includes=self._includes,
                ordering=self._ordering,
                reverse=self._reversed,
            )
        return self._plan_cache

    def explain(self) -> Explanation:
        """The plan, readable (no I/O): first request URL, where each filter runs, checks, cost."""
        return Explanation.of(self)

    # --- compiling -------------------------------------------------------------------------------

    def get_client(self) -> Client:
        """The client this queryset talks through: the one given to ``using()``, or the default."""
        return self._client or default_client()

    def _first_window(self) -> tuple[int, int]:
        """``(page, per_page)`` of the first request.

        With server filters, a window's rows are trusted only when the rows that place them are
        verified too: a server that ignored a filter would number its rows differently.  So a
        window ending at most one page in reads rows ``[0, end)`` in one request (every row of
        the prefix matches, so the window is right whatever the server did with the filter),
        and one further in reads the whole aligned pages of ``max_per_page`` holding it (each
        verified whole, as ``count()`` trusts a verified full page).  Without server filters the
        server's paging is exact: the smallest page holding the window.
        """
        the_plan = self._get_plan()
        max_per_page = the_plan.spec.max_per_page
        if not the_plan.exact:
            return 1, max_per_page
        if self._high is not None:
            if not the_plan.server:
                window = page_window(self._low, self._high, max_per_page)
                if window is not None:
                    return window
            elif self._high <= max_per_page:
                return 1, self._high
        return self._low // max_per_page + 1, max_per_page

    @property
    def url(self) -> str:
        """The exact URL evaluating this queryset sends first (no I/O)."""
        client = self.get_client()
        page, per_page = self._first_window()
        the_plan = self._get_plan()
        return client.url(
            the_plan.spec.list_path(client.account_id), the_plan.query.list_params(page, per_page)
        )

    # --- fetching --------------------------------------------------------------------------------

    def _fetch(
        self, client: Client, page: int, per_page: int, *, need_total: bool = False
    ) -> tuple[list[M], int | None, int | None]:
        """One list request: (verified objects, total, pages).

        A malformed answer raises ``MalformedResponseError`` (and so does one without a total
        when ``need_total``); ``total``/``pages`` are None when the answer left them out.
        """
        the_plan = self._get_plan()
        spec = the_plan.spec
        if the_plan.refused is not None:
            raise InvalidFilterValue(the_plan.refused)
        if the_plan.unverifiable and not self._unverified_ok:
            names = ", ".join(s.parameter() for s in the_plan.unverifiable)
            raise UnverifiableFilterError(
                f"{names}: the rows {spec.name} returns cannot be checked against this filter, "
                f"so a server that ignored it would answer with every {spec.single_key}; "
                "call .allow_unverified() to send it anyway"
            )
        path = spec.list_path(client.account_id)
        rows, total, pages = client.request(
            "GET",
            path,
            params=the_plan.query.list_params(page, per_page),
            expect=spec.counted_page if need_total else spec.page,
        )
        if len(rows) < per_page and (
            (pages is not None and page < pages)
            or (total is not None and (page - 1) * per_page + len(rows) < total)
        ):
            # A short page that its own answer says is not the last: the server pages by a
            # smaller size than asked (FreshBooks documents 100), so every offset would be off
            # and a loop that stops at a short page would drop the rest.
            raise MalformedResponseError(
                f"{spec.name}: page {page} answered {len(rows)} rows where per_page={per_page} "
                f"was asked, yet says {pages} pages and {total} rows in all: the server pages by "
                "a smaller size than asked, so reading on would skip or repeat rows",
                method="GET",
                path=path,
            )
        objs = self._hydrate(rows, client, related=False)
        _verify(the_plan, objs, self._unverified_ok)
        self._prefetch(objs, client)
        return objs, total, pages

    def _hydrate(self, rows: list[Any], client: Client, related: bool = True) -> list[M]:
        objs = self.model._from_page(rows, client)
        if related:
            self._prefetch(objs, client)
        return objs

    def _prefetch(self, objs: list[M], client: Client) -> None:
        """Load the ``select_related()`` relations of a page: one request per relation."""
        relations = self.model._meta.relations
        for name in self._related:
            relations[name].prefetch(objs, client)  # type: ignore[attr-defined]

    def _pages(self, prefetch: int = 0, stats: PageStats | None = None) -> Iterator[list[M]]:
        """Yield verified pages of matching objects, in order, covering ``[low, high)``, each
        object once (a row repeated by a shifting set is dropped and counted in ``stats``)."""
        the_plan = self._get_plan()
        if the_plan.empty or (self._high is not None and self._high <= self._low):
            return
        stats = stats if stats is not None else PageStats()
        if not the_plan.exact:
            yield from self._local_pages(prefetch, stats)
            return
        seen: set[Any] = set()
        client = self.get_client()
        low, high = self._low, self._high
        page, per_page = self._first_window()
        rows, total, pages = self._fetch(client, page, per_page)
        stats.totals.append(total)
        skip = low - (page - 1) * per_page
        wanted = None if high is None else high - low
        chunk = rows[skip:] if wanted is None else rows[skip : skip + wanted]
        yield self._once(chunk, seen, stats)
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
                yield self._once(chunk, seen, stats)
            if wanted is not None:
                wanted -= len(chunk)
                if wanted <= 0:
                    return
            if len(rows) < per_page:
                return

    def _matching_pages(self, prefetch: int, stats: PageStats) -> Iterator[list[M]]:
        """Every page the server filters match, verified, each object once, residual applied."""
        the_plan = self._get_plan()
        client = self.get_client()
        per_page = the_plan.spec.max_per_page
        residual = the_plan.residual
        seen: set[Any] = set()
        rows, total, pages = self._fetch(client, 1, per_page)
        pages_iter: Iterator[tuple[list[M], int | None]] = iter([(rows, total)])
        if (pages is None or pages > 1) and len(rows) >= per_page:
            last = sys.maxsize if pages is None else pages  # no page count: until a short page
            following = self._following(client, range(2, last + 1), per_page, prefetch)
            pages_iter = _chain_pages((rows, total), following, per_page)
        for page_rows, page_total in pages_iter:
            stats.totals.append(page_total)
            page_rows = self._once(page_rows, seen, stats)
            if residual is None:
                yield page_rows
            else:
                yield [obj for obj in page_rows if matches(residual, obj)]

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

    def _local_pages(self, prefetch: int, stats: PageStats) -> Iterator[list[M]]:
        the_plan = self._get_plan()
        low, high = self._low, self._high
        if the_plan.local_order or the_plan.reverse_server:
            everything = [obj for page in self._matching_pages(prefetch, stats) for obj in page]
            if the_plan.local_order:
                everything = _sort(everything, the_plan)
            else:
                everything.reverse()
            yield everything[low:high]
            return
        seen = 0
        for page in self._matching_pages(prefetch, stats):
            start = max(0, low - seen)
            stop = None if high is None else max(0, high - seen)
            seen += len(page)
            chunk = page[start:stop]
            if chunk:
                yield chunk
            if high is not None and seen >= high:
                return

    def _following(
        self, client: Client, page_numbers: range, per_page: int, prefetch: int
    ) -> Iterator[tuple[list[M], int | None]]:
        if prefetch <= 0:
            for number in page_numbers:
                rows, total, _pages = self._fetch(client, number, per_page)
                yield rows, total
            return
        yield from _window(
            lambda number: self._fetch(client, number, per_page), page_numbers, prefetch
        )

    def _objects(self, prefetch: int = 0, stats: PageStats | None = None) -> Iterator[M]:
        for page in self._pages(prefetch=prefetch, stats=stats):
            yield from page

    def iterator(self, prefetch: int = 0, *, stats: PageStats | None = None) -> Iterator[Any]:
        """Stream the rows page by page without caching them, each object once.

        ``prefetch=N`` fetches up to N pages ahead in a thread pool (for high-latency links);
        rows still come out in order.  ``stats``, a ``PageStats``, records each page's total
        and the repeats dropped, so a caller can see that the set moved while it was read.
        """
        shape = self._shaper()
        for page in self._pages(prefetch=prefetch, stats=stats):
            for obj in page:
                yield shape(obj)
            _release_pages(page)  # streamed: nothing keeps the page, so let it go at once

    def _shaper(self) -> Callable[[M], Any]:
        mode = self._fields_mode
        if mode is None:
            return lambda obj: obj
        kind, names, flat, named = mode
        if kind == "values":
            return lambda obj: {n: getattr(obj, n) for n in names}
        if flat:
            name = names[0]
            return lambda obj: getattr(obj, name)
        if named:
            row = collections.namedtuple("Row", names)  # type: ignore[misc]
            return lambda obj: row(*(getattr(obj, n) for n in names))
        return lambda obj: tuple(getattr(obj, n) for n in names)

    def _fetch_all(self) -> list[Any]:
        if self._cache is None:
            shape = self._shaper()
            self._cache = [shape(obj) for obj in self._objects()]
        return self._cache

    # --- evaluation ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        return _releasing(self._fetch_all())

    def __len__(self) -> int:
        return len(self._fetch_all())

    def __bool__(self) -> bool:
        return bool(self._fetch_all())

    @overload
    def __getitem__(self, key: int) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> QuerySet[M] | list[Any]: ...

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            if (key.start is not None and key.start < 0) or (key.stop is not None and key.stop < 0):
                raise ValueError("negative indexing is not supported")
            if self._cache is not None:
                return self._cache[key]
            start = self._low + (key.start or 0)
            stop = None if key.stop is None else self._low + key.stop
            if self._high is not None:
                stop = self._high if stop is None else min(stop, self._high)
            qs = self._chain(_low=start, _high=stop)
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
        qs = self._chain(_low=position, _high=position + 1)
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
        objects = self._objects_qs()
        rows = objects._cache if objects._cache is not None else objects._objects()
        return dataframe(self.model, rows, fields)

    def _repr_html_(self) -> str:
        """A notebook table of the first rows (at most one request), saying how many there are."""
        from .display import queryset_html

        return queryset_html(self)

    def _preview(self, limit: int) -> tuple[list[M], int | None, bool]:
        """Up to ``limit`` rows, the total when known, and whether there are more; one request."""
        if self._fields_mode is not None:
            return self._objects_qs()._preview(limit)
        if self._cache is not None:
            return self._cache[:limit], len(self._cache), len(self._cache) > limit
        the_plan = self._get_plan()
        if the_plan.empty:
            return [], 0, False
        if not self._low and self._high is None and the_plan.exact:
            client = self.get_client()
            rows, total, _pages = self._fetch(client, 1, limit)  # verified
            more = total > limit if total is not None else len(rows) >= limit
            return rows[:limit], total, more
        qs = self._clone()
        qs._low = self._low
        qs._high = (
            self._low + limit + 1 if self._high is None else min(self._high, self._low + limit + 1)
        )
        rows = list(qs)
        return rows[:limit], None, len(rows) > limit

    def count(self) -> int:
        """Number of rows: from the cache; one verified request when the plan is exact."""
        if self._cache is not None:
            return len(self._cache)
        the_plan = self._get_plan()
        if the_plan.empty:
            return 0
        if not the_plan.exact:
            if self._order_is_moot():
                return self._unordered().count()
            return sum(len(page) for page in self._pages())
        client = self.get_client()
        _rows, total, _pages = self._fetch(client, 1, the_plan.spec.max_per_page, need_total=True)
        assert total is not None  # need_total: an answer without one raised
        high = total if self._high is None else min(total, self._high)
        return max(0, high - self._low)

    def exists(self) -> bool:
        """Whether any row matches: from the cache, or one request (exact plans)."""
        if self._cache is not None:
            return bool(self._cache)
        if self._order_is_moot():
            return self._unordered().exists()
        return self.first() is not None

    def _order_is_moot(self) -> bool:
        """Whether an ordering is set that cannot change the answer: no slice picks rows by it.

        ``count()``, ``exists()`` and ``aggregate()`` then ignore it, as Django's do, so they
        neither read every row to sort them nor fail on a sort (money across currencies)."""
        return bool(self._ordering or self._reversed) and not self._low and self._high is None

    def _unordered(self) -> QuerySet[M]:
        return self._chain(_ordering=(), _reversed=False)

    def first(self) -> Any:
        """The first row or None: from the cache, or one request (exact plans)."""
        if self._cache is not None:
            return self._cache[0] if self._cache else None
        if self._get_plan().exact:
            try:
                return self[0]
            except IndexError:
                return None
        shape = self._shaper()
        for obj in self._objects():
            return shape(obj)
        return None

    def last(self) -> Any:
        """The last row or None (the reverse order's first row)."""
        if self._cache is not None:
            return self._cache[-1] if self._cache else None
        if self._low or self._high is not None:
            rows = list(self)
            return rows[-1] if rows else None
        the_plan = self._get_plan()
        if the_plan.exact and not the_plan.order:
            # the server's own order: the last row is row total-1; its page needs the total
            client = self.get_client()
            per_page = the_plan.spec.max_per_page
            if the_plan.empty:
                return None
            rows, total, _pages = self._fetch(client, 1, per_page, need_total=True)
            assert total is not None  # need_total: an answer without one raised
            if total <= len(rows):
                return self._shaper()(rows[-1]) if rows else None
            return self[total - 1]
        return self.reverse().first()

    def latest(self, *fields: str) -> Any:
        """The row with the greatest ``fields``; ``Model.DoesNotExist`` when none matches."""
        return self._edge(fields, "latest", descending=True)

    def earliest(self, *fields: str) -> Any:
        """The row with the smallest ``fields``; ``Model.DoesNotExist`` when none matches."""
        return self._edge(fields, "earliest", descending=False)

    def _edge(self, fields: tuple[str, ...], name: str, descending: bool) -> Any:
        if not fields:
            raise ValueError(
                f"{name}() needs at least one field to order by, e.g. {name}('create_date')"
            )
        self._not_sliced(f"call {name}() on")
        if descending:
            fields = tuple(f[1:] if f.startswith("-") else "-" + f for f in fields)
        obj = self.order_by(*fields).first()
        if obj is None:
            raise self.model.DoesNotExist(f"no {self.model.__name__} matches this query")
        return obj

    def in_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, Any]:
        """``{id: object}`` for ``id_list`` (one request per 100 ids through the "in" filter)."""
        self._not_sliced("call in_bulk() on")
        if id_list is None:
            return {getattr(obj, _real(self.model, field_name)): obj for obj in self._objects()}
        ids = list(dict.fromkeys(id_list))
        out: dict[Any, Any] = {}
        name = _real(self.model, field_name)
        max_per_page = self.model._meta.resource.max_per_page  # type: ignore[union-attr]
        for start in range(0, len(ids), max_per_page):
            chunk = ids[start : start + max_per_page]
            for obj in self.filter(**{f"{field_name}__in": chunk})._objects():
                out[getattr(obj, name)] = obj
        return out

    def get(self, *args: Any, **filters: Any) -> Any:
        """The one object matching ``pk``, ``Q`` objects or lookups.

        ``get(pk)`` is one GET of the single resource; ``get(**lookups)`` one list request when
        the plan is exact.  Raises ``Model.DoesNotExist`` or ``Model.MultipleObjectsReturned``.
        """
        qargs = [a for a in args if isinstance(a, Q)]
        if args and not qargs:
            if len(args) != 1 or filters:
                raise TypeError("get() takes one primary key, or filters by name, not both")
            return self._get_pk(args[0])
        if not qargs and len(filters) == 1 and next(iter(filters)) in self.model._meta.pk_lookups:
            return self._get_pk(next(iter(filters.values())))
        qs = self.filter(*qargs, **filters) if (qargs or filters) else self._chain()
        return qs._get_one(filters or qargs)

    def _get_one(self, described: Any) -> Any:
        the_plan = self._get_plan()
        name = self.model.__name__
        if the_plan.empty:
            raise self.model.DoesNotExist(f"no {name} matches {described!r}")
        if the_plan.exact:
            client = self.get_client()
            rows, total, _pages = self._fetch(client, 1, 2)
            found = len(rows) if total is None or total <= 1 else total
        else:
            rows = []
            for obj in self._objects():
                rows.append(obj)
                if len(rows) > 1:
                    break
            found = len(rows)
        if not rows:
            raise self.model.DoesNotExist(f"no {name} matches {described!r}")
        if found > 1 or len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"get() found {'more than one' if not the_plan.exact else found} {name} "
                f"objects matching {described!r}, not one"
            )
        return self._shaper()(rows[0])

    def _get_pk(self, pk: Any) -> Any:
        self._not_sliced("get() from")
        plain = isinstance(self._where, And) and not self._where.children
        if not plain or self._fields_mode is not None:  # honour the narrowing
            return self.filter(pk=_check_pk(pk))._get_one({"pk": pk})
        spec = self.model._meta.resource
        assert spec is not None
        client = self.get_client()
        try:
            row = client.request(
                "GET",
                spec.detail_path(client.account_id, _check_pk(pk)),
                params=self._get_plan().query.include_params() or None,
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

    def get_or_create(
        self, defaults: dict[str, Any] | None = None, **lookup: Any
    ) -> tuple[M, bool]:
        """``(object, created)``: the object ``lookup`` matches, or a new one POSTed.

        The new object gets the plain ``field=value`` items of ``lookup`` plus ``defaults``.
        FreshBooks has no idempotency keys: when the POST fails in a way that leaves it unknown
        whether the object was created (``UncertainWriteError``), the lookup runs again; if it
        now finds the object, that is returned as created, otherwise the error is raised.
        """
        objects = self._objects_qs()
        try:
            return objects.get(**lookup), False
        except self.model.DoesNotExist:
            pass
        return objects._create_for(lookup, defaults), True

    def update_or_create(
        self,
        defaults: dict[str, Any] | None = None,
        create_defaults: dict[str, Any] | None = None,
        **lookup: Any,
    ) -> tuple[M, bool]:
        """``(object, created)``: update the matching object with ``defaults``, or create one.

        Creating uses ``create_defaults`` when given, else ``defaults``; an uncertain POST is
        handled as in ``get_or_create``.  Updating sends one PUT with only what changed.
        """
        objects = self._objects_qs()
        values = _resolved(defaults)
        probe = self.model()
        for name, value in values.items():  # a bad value raises before any request
            setattr(probe, name, value)
        try:
            obj = objects.get(**lookup)
        except self.model.DoesNotExist:
            chosen = create_defaults if create_defaults is not None else values
            return objects._create_for(lookup, chosen), True
        for name, value in values.items():
            setattr(obj, name, value)
        obj.save(using=self._client)
        return obj, False

    def _objects_qs(self) -> QuerySet[M]:
        return self._chain(_fields_mode=None) if self._fields_mode is not None else self

    def _create_for(self, lookup: dict[str, Any], defaults: dict[str, Any] | None) -> M:
        fields = self.model._meta.fields
        params = {k: v for k, v in lookup.items() if "__" not in k and k in fields}
        params.update(_resolved(defaults))
        try:
            return self.create(**params)
        except UncertainWriteError as exc:
            try:
                return self.get(**lookup)  # type: ignore[no-any-return]
            except self.model.DoesNotExist:
                raise exc from None

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Aggregate over the matching rows: ``aggregate(Sum("amount"), n=Count())``.

        Keys are ``<field>__<function>`` (``amount__sum``) or the keyword given.  Money is summed
        per currency: over rows of one currency the result is a ``Money``; rows of several
        currencies raise ``MixedCurrencyError`` naming them, unless the aggregate was made with
        ``by_currency=True``, which returns ``{code: Money}``.
        """
        from .aggregates import Aggregate

        wanted: dict[str, Aggregate] = {}
        for agg in args:
            if not isinstance(agg, Aggregate):
                raise TypeError(f"aggregate() takes Sum, Count, Min, Max or Avg, got {agg!r}")
            wanted[agg.default_alias] = agg
        for alias, agg in kwargs.items():
            if not isinstance(agg, Aggregate):
                raise TypeError(f"aggregate() takes Sum, Count, Min, Max or Avg, got {agg!r}")
            wanted[alias] = agg
        for agg in wanted.values():
            agg.check(self.model)
        objects = self._objects_qs()
        if objects._cache is None and objects._order_is_moot():
            objects = objects._unordered()
        the_plan = objects._get_plan()
        if all(a.counts_rows for a in wanted.values()) and the_plan.exact:
            n = objects.count()
            return {alias: n for alias in wanted}
        rows = objects._cache if objects._cache is not None else list(objects._objects())
        return {alias: agg.compute(rows) for alias, agg in wanted.items()}

    # --- batch writes (see freshbooks_orm.batch) -------------------------------------------------

    def update(self, **kwargs: Any) -> BatchResult:
        """Set fields on every matching object: one PUT each carrying only what changes.

        Keyword arguments that are not fields are batch options: ``dry_run``, ``workers``,
        ``journal``, ``progress``, ``note``.  See ``freshbooks_orm.batch.run``.  A field of
        the same name wins (``Customer.note``, ``Payment.note``): give such a run its note
        through ``freshbooks_orm.batch.run``.
        """
        from ..batch import OPTION_NAMES, run, set_fields

        fields = self.model._meta.fields
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in OPTION_NAMES and k not in fields}
        return run(self._objects_qs(), set_fields(self.model, kwargs), action="update", **options)

    def delete(self, **options: Any) -> BatchResult:
        """Soft-delete every matching object (one ``vis_state`` PUT each)."""
        from ..batch import run

        return run(self._objects_qs(), None, action="delete", **options)

    def apply(self, fn: Any, **options: Any) -> BatchResult:
        """Call ``fn(obj)`` on every matching object and save what it changed."""
        from ..batch import run

        return run(self._objects_qs(), fn, action="apply", **options)


# --- verification ---------------------------------------------------------------------------------


def _verify(the_plan: Plan, objs: list[Any], unverified_ok: bool = False) -> None:
    """Raise ``FilterNotAppliedError`` if a row contradicts a server filter it carries, or if
    no row of the page carries a value a server filter can be checked on (then nothing shows
    that the server applied it; ``allow_unverified()`` trusts it)."""
    unchecked = None if unverified_ok else the_plan.unchecked(objs)
    if unchecked is not None:
        spec = the_plan.spec
        wire = None if unchecked.check is None else carried_key(unchecked.check)
        parameter = unchecked.parameter()
        raise FilterNotAppliedError(
            f"filter {unchecked.name!r} ({parameter}) cannot be shown applied: none of the "
            f"{len(objs)} {spec.list_key} this page returned carries a value for {wire!r}, and "
            f"a server that ignored the filter would answer with every {spec.single_key}.  "
            "Nothing from this answer was used; filter on a field the rows carry, or call "
            ".allow_unverified() to trust the server",
            filter=unchecked.name,
            parameter=parameter,
            row_id=objs[0].pk,
        )
    for obj in objs:
        server = the_plan.contradiction(obj)
        if server is not None:
            wire = None if server.check is None else carried_key(server.check)
            raise _not_applied(the_plan, server, obj, wire)


def _not_applied(
    the_plan: Plan, server: ServerFilter, obj: Any, wire: str | None
) -> FilterNotAppliedError:
    spec = the_plan.spec
    row_id = obj.pk
    parameter = server.parameter()
    shown = obj._meta.wire_data(obj).get(wire) if wire else None
    if isinstance(shown, list):
        shown = f"{len(shown)} item(s)"
    return FilterNotAppliedError(
        f"the server did not apply filter {server.name!r} ({parameter}): it returned "
        f"{spec.single_key} {row_id} whose {wire} is {shown!r}, which the filter excludes. "
        f"FreshBooks silently ignores filters it does not honour and answers with every "
        f"{spec.single_key}, so nothing from this answer was used; filter with a condition "
        f"the API honours, or evaluate this one locally with exclude()/Q",
        filter=server.name,
        parameter=parameter,
        row_id=row_id,
    )


# --- local ordering -----------------------------------------------------------------------------


def _sort(objs: list[Any], the_plan: Plan) -> list[Any]:
    out = list(objs)
    for order in reversed(the_plan.order):
        values = [getattr(o, order.field) for o in out]
        if order.kind == "money":
            codes = sorted({v.code for v in values if isinstance(v, Money)})
            if len(codes) > 1:
                raise MixedCurrencyError(
                    f"cannot order by {order.field!r}: the rows hold {', '.join(codes)} amounts; "
                    f"filter by one currency first"
                )
        keyed = [(_sort_key(v), o) for v, o in zip(values, out, strict=True)]
        keyed.sort(key=lambda pair: pair[0], reverse=order.descending)
        out = [o for _, o in keyed]
    return out


def _sort_key(value: Any) -> tuple[bool, Any]:
    if isinstance(value, Money):
        value = value.amount
    return (value is None, value if value is not None else 0)


def _chain_pages(
    first: tuple[list[M], int | None],
    rest: Iterator[tuple[list[M], int | None]],
    per_page: int,
) -> Iterator[tuple[list[M], int | None]]:
    yield first
    for rows, total in rest:
        yield rows, total
        if len(rows) < per_page:
            return


# --- explain ----------------------------------------------------------------------------------


@attrs.frozen
class Explanation:
    """What a queryset will do, readable: ``print(qs.explain())``.

    ``urls`` the first request(s) evaluating it sends; ``server`` the API filters with what
    each promises and whether it is verified on the rows; ``local`` the residual evaluated on
    each row (None when the server's answer is the result); ``ordering`` where it sorts;
    ``requests`` the expected request count.
    """

    model: str
    urls: tuple[str, ...]
    server: tuple[tuple[str, str, str], ...]  # (parameter, meaning, verification)
    local: str | None
    ordering: str
    requests: str
    exact: bool

    @classmethod
    def of(cls, qs: QuerySet[Any]) -> Explanation:
        the_plan = qs._get_plan()
        spec = the_plan.spec
        page, per_page = qs._first_window()
        params = the_plan.query.list_params(page, per_page)
        client = qs._client
        account = getattr(client, "_account_id", None) if client is not None else None
        if client is not None and account:
            url = client.url(spec.list_path(account), params)
        else:
            from urllib.parse import urlencode

            url = spec.list_path("<account_id>") + "?" + urlencode(params)
        server = []
        for s in the_plan.server:
            meaning = "what the declarations do not say" if s.check is None else s.check.describe()
            if s.check is None:
                how = (
                    "NOT verifiable (its meaning is not declared): refused unless "
                    "allow_unverified()"
                )
            else:
                wire = carried_key(s.check)
                how = (
                    f"verified on every row that carries {wire!r} (a page where none does "
                    "raises FilterNotAppliedError unless allow_unverified())"
                )
                if wire in the_plan.added_includes:
                    how += f"; include[]={wire} added to check it"
            server.append((s.parameter(), meaning, how))
        local = None if the_plan.residual is None else the_plan.residual.describe()
        if not the_plan.order and not the_plan.reverse_server:
            ordering = "the server's default order"
        elif the_plan.reverse_server:
            ordering = "the server's default order reversed locally (reads every matching row)"
        elif the_plan.local_order:
            names = ", ".join(("-" if o.descending else "") + o.field for o in the_plan.order)
            ordering = f"{names}: locally, after reading every matching row"
        else:
            ordering = f"on the server (sort={the_plan.query.sort})"
        if the_plan.empty:
            requests = "none: the query matches nothing"
            urls: tuple[str, ...] = ()
        elif the_plan.refused is not None:
            requests = "none: evaluating it raises InvalidFilterValue: " + the_plan.refused
            urls = ()
        elif the_plan.exact:
            requests = (
                f"iteration: one request per {spec.max_per_page} rows; count(), exists(), "
                f"first(): 1 request; qs[i] and qs[a:b]: "
                + (
                    f"1 request for rows 0..b-1 when b <= {spec.max_per_page} (the rows before "
                    f"the window are verified too), else the pages of {spec.max_per_page} "
                    "holding it"
                    if the_plan.server
                    else "1 request when one page holds the window"
                )
            )
            urls = (url,)
        else:
            requests = (
                f"every page the server filters match: ceil(M/{spec.max_per_page}) requests "
                f"(M = rows the server filters match), for iteration, count() and aggregate()"
            )
            if not (the_plan.local_order or the_plan.reverse_server):
                requests += "; exists(), first() and slices stop at the page that completes them"
            urls = (url,)
        return cls(spec.name, urls, tuple(server), local, ordering, requests, the_plan.exact)

    def __str__(self) -> str:
        lines = [f"{self.model} query plan"]
        if self.urls:
            lines.append("  first request: GET " + self.urls[0])
        if self.server:
            lines.append("  server filters:")
            for parameter, meaning, how in self.server:
                lines.append(f"    {parameter}  ({meaning}): {how}")
        else:
            lines.append("  server filters: none")
        lines.append(
            "  local filter: "
            + (self.local + " (evaluated on each row as it streams)" if self.local else "none")
        )
        lines.append(f"  ordering: {self.ordering}")
        lines.append(f"  requests: {self.requests}")
        return "\n".join(lines)


# --- helpers ------------------------------------------------------------------------------------


def _spec_of(model: type[Model]) -> ResourceSpec:
    spec = model._meta.resource
    if spec is None:
        raise TypeError(f"{model.__name__} has no list endpoint")
    return spec


def _is_list(fspec: Any) -> bool:
    return getattr(fspec.type, "list_cls", None) is not None


def _real(model: Any, name: str) -> str:
    return str(model._meta.pk) if name == "pk" else name


def _resolved(defaults: dict[str, Any] | None) -> dict[str, Any]:
    return {k: (v() if callable(v) else v) for k, v in (defaults or {}).items()}


def _check_pk(pk: Any) -> int | str:
    try:
        number = to_int(pk, 0)
    except (TypeError, ValueError):
        raise InvalidFilterValue(
            f"a primary key is a positive integer, got {short_repr(pk)}"
        ) from None
    return number


def _window(
    fetch: Callable[[int], tuple[list[Any], int | None, int | None]],
    page_numbers: Iterable[int],
    prefetch: int,
) -> Iterator[tuple[list[Any], int | None]]:
    """Fetch ``page_numbers`` with ``prefetch`` requests in flight at all times; yield the pages
    strictly in order.

    A slot is refilled the moment any request finishes, not when the oldest page is consumed,
    so the N workers stay busy while an earlier, slower page is awaited.  At most ``2 * N``
    pages are fetched and not yet consumed (memory stays bounded when the consumer is slower
    than the link).  Only the given page numbers are asked for: the caller starts this once the
    first page has told how many pages there are, so no request goes past the last page.  A
    failed page stops new requests; its error is raised when its turn comes.
    """
    lock = threading.RLock()
    numbers = iter(page_numbers)
    order: collections.deque[Future[tuple[list[Any], int | None, int | None]]] = collections.deque()
    state = {"in_flight": 0, "stop": False}
    limit = 2 * prefetch

    with ThreadPoolExecutor(max_workers=prefetch) as pool:

        def done(future: Future[Any]) -> None:
            with lock:
                state["in_flight"] -= 1
                if future.cancelled() or future.exception() is not None:
                    state["stop"] = True
                refill()

        def refill() -> None:  # with the lock held
            while not state["stop"] and state["in_flight"] < prefetch and len(order) < limit:
                number = next(numbers, None)
                if number is None:
                    state["stop"] = True
                    return
                future = pool.submit(fetch, number)
                state["in_flight"] += 1
                order.append(future)
                future.add_done_callback(done)

        try:
            with lock:
                refill()
            while True:
                with lock:
                    if not order:
                        return
                    future = order[0]  # stays in the window until consumed
                rows, total, _pages = future.result()
                with lock:
                    order.popleft()
                    refill()  # a consumed page frees room in the window
                yield rows, total
        finally:
            with lock:
                state["stop"] = True
                for future in order:
                    future.cancel()


def _release_pages(objs: list[Any]) -> None:
    """Let the pages of ``objs`` go (see ``model._Page``): an object kept afterwards holds only
    itself, and its fields not read yet are parsed alone."""
    last = None
    for obj in objs:
        page = getattr(obj, "__dict__", {}).get("_page")
        if page is not None and page is not last:
            page.release()
            last = page


def _releasing(objs: list[Any]) -> Iterator[Any]:
    """Iterate ``objs``; once the loop is over (or abandoned), release their pages, so that
    objects kept from a loop do not keep their page mates alive."""
    try:
        yield from objs
    finally:
        _release_pages(objs)
