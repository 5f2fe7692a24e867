"""Pure query building: filter declarations and an immutable ``Query`` that compiles to params.

Nothing here does I/O.  A ``Query`` is a value: every ``with_*`` method returns a new one, and
``list_params(page, per_page)`` gives the exact query pairs the list request will carry.

The FreshBooks server silently ignores filter names it does not know and then returns every
row, so a filter is only accepted when the resource declares it; anything else raises
``UnknownFilterError`` naming the closest valid name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import quote

import attrs

from ..errors import (
    InvalidFilterValue,
    MalformedResponseError,
    UnknownFilterError,
    closest,
    short_repr,
)
from .types import DATE_FORMS, EnumType, to_currency, to_date, to_decimal, to_int

__all__ = [
    "BoolFilter",
    "DateFilter",
    "EqualsFilter",
    "Filter",
    "InFilter",
    "ListPage",
    "Query",
    "ResourceSpec",
    "SearchBoolFilter",
    "encode_currency",
    "list_page_of",
    "result_of",
]

Params = tuple[tuple[str, str], ...]


# --- value encoders: Python value -> query-string text -------------------------------------------


def encode_int(value: Any) -> str:
    try:
        return str(to_int(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"expected an integer id: {exc}") from None


def encode_str(value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    text = str(value)
    if not text:
        raise ValueError("an empty string would match every row")
    return text


def encode_decimal(value: Any) -> str:
    try:
        return format(to_decimal(value), "f")
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def encode_date(value: Any) -> str:
    """``YYYY-MM-DD`` from a date, a datetime or a full ISO 8601 string; reduced forms such as
    ``2024`` or ``2024-03`` are refused (a year would silently mean its first day)."""
    try:
        return to_date(value).isoformat()
    except TypeError:
        raise ValueError(f"expected {DATE_FORMS}, got {type(value).__name__}") from None


def encode_currency(value: Any) -> str:
    """A three-letter currency code, upper-cased."""
    try:
        return to_currency(value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def encode_choice(choices: Iterable[str]) -> Callable[[Any], str]:
    valid = tuple(choices)

    def encode(value: Any) -> str:
        if not isinstance(value, str) or value not in valid:
            raise ValueError(f"{short_repr(value)} is not one of: {', '.join(valid)}")
        return value

    return encode


def encode_enum(enum_type: EnumType) -> Callable[[Any], str]:
    def encode(value: Any) -> str:
        return str(int(enum_type.coerce(value)))

    return encode


# --- filter kinds ----------


@attrs.frozen
class Filter:
    """A filter the API documents: ``search[<name>]=<value>``.

    ``means`` (optional) says what the filter checks as a Django lookup on the model, for the
    query planner and the verification of the server's rows: ``"amount__gte"`` (the filter's
    value is compared), or ``"outstanding__gt=0"`` for a true/false filter (true means the
    condition holds).  Without it the planner reads the meaning from ``ResourceSpec.lookups``
    (``{"amount__gte": "total_min"}``), or from a field of the filter's own name (exact match).
    """

    name: str
    encode: Callable[[Any], str] = encode_str
    doc: str = ""
    means: str = attrs.field(default="", kw_only=True)

    def pairs(self, value: Any) -> Params:
        return ((f"search[{self.name}]", self.encode(value)),)


@attrs.frozen
class EqualsFilter(Filter):
    """Exact match (also used for the API's "like" filters, which share the wire form)."""


@attrs.frozen
class DateFilter(Filter):
    """A between-filter on a date: ``YYYY-MM-DD`` from a date, datetime or parseable string."""

    encode: Callable[[Any], str] = encode_date


@attrs.frozen
class InFilter(Filter):
    """Matches any of a list: ``search[<name>][]=a&search[<name>][]=b``."""

    def pairs(self, value: Any) -> Params:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise ValueError(f"expected a list of values, got {short_repr(value)}")
        return tuple((f"search[{self.name}][]", self.encode(v)) for v in value)


@attrs.frozen
class BoolFilter(Filter):
    """A top-level true/false filter: ``name=true`` (FreshBooks' SDK builders' form)."""

    def pairs(self, value: Any) -> Params:
        if not isinstance(value, bool):
            raise ValueError(f"expected True or False, got {short_repr(value)}")
        return ((self.name, "true" if value else "false"),)


@attrs.frozen
class SearchBoolFilter(Filter):
    """A true/false filter inside ``search[...]`` (``search[has_receipt]=true``).

    FreshBooks' accounting pages introduce every filter as ``search[<name>]``; their encoding
    of booleans is undocumented, so ``true``/``false`` is sent, as the reference advises.
    """

    def pairs(self, value: Any) -> Params:
        if not isinstance(value, bool):
            raise ValueError(f"expected True or False, got {value!r}")
        return ((f"search[{self.name}]", "true" if value else "false"),)


@attrs.frozen
class ResourceSpec:
    """What a resource declares for querying: its path, envelope keys, filters, includes, sorts."""

    name: str
    path: str  # below /accounting/account/<account_id>/, e.g. "invoices/invoices"
    single_key: str
    list_key: str
    filters: Mapping[str, Filter]
    lookups: Mapping[str, str] = attrs.field(factory=dict)  # django-style name -> filter name
    includes: tuple[str, ...] = ()
    sorts: Mapping[str, str] = attrs.field(factory=dict)  # order_by argument -> sort value
    max_per_page: int = 100
    #: other keys a single answer may use for the object (credit notes: ``credit_notes``)
    read_keys: tuple[str, ...] = ()

    def result(self, body: Any) -> dict[str, Any] | None:
        """The object of a single answer (``response.result.<single_key>``), or None."""
        for key in (self.single_key, *self.read_keys):
            found = result_of(body, key)
            if found is not None:
                return found
        return None

    def required_result(self, body: Any) -> dict[str, Any]:
        """The object of a single answer; ``MalformedResponseError`` when it has none."""
        found = self.result(body)
        if found is None:
            raise MalformedResponseError(f"an answer without a {self.single_key!r} object")
        return found

    def page(self, body: Any) -> ListPage:
        """One page of a list answer (see ``list_page_of``)."""
        return list_page_of(body, self.list_key)

    def counted_page(self, body: Any) -> ListPage:
        """One page of a list answer that must say its ``total``."""
        return list_page_of(body, self.list_key, need_total=True)

    def resolve(self, name: str) -> Filter:
        """Return the filter for a filter or lookup name, or raise ``UnknownFilterError``."""
        target = self.lookups.get(name, name)
        try:
            return self.filters[target]
        except KeyError:
            valid = sorted({*self.filters, *self.lookups})
            hint = closest(name, valid)
            did_you_mean = f" Did you mean {hint!r}?" if hint else ""
            raise UnknownFilterError(
                f"{self.name} has no filter {name!r}: the API would ignore it and return every "
                f"{self.single_key}.{did_you_mean} Valid filters: {', '.join(valid)}."
            ) from None

    def with_derived_lookups(self, pk_filter: str | None, pk_in_filter: str | None) -> ResourceSpec:
        """This spec with the lookups every resource has, derived from what it declares.

        * with an In filter on the primary key: ``id__in``, ``pk__in`` (and
          ``<pk_filter>__in``) name it, and ``id``/``pk`` name the Equals filter (a lone
          Equals filter, such as credit notes' unconfirmed ``creditid``, only narrows
          ``get()`` and gets no lookups);
        * with ``updated_min``/``updated_max``: ``updated__gte``/``updated__lt`` name them.

        A lookup the resource declares itself wins.  Returns ``self`` when nothing is added.
        """
        first: dict[str, str] = {}
        if pk_in_filter is not None:
            if pk_filter is not None:
                first.update(id=pk_filter, pk=pk_filter)
            first.update(id__in=pk_in_filter, pk__in=pk_in_filter)
            if pk_filter is not None:
                first[f"{pk_filter}__in"] = pk_in_filter
        last: dict[str, str] = {}
        if "updated_min" in self.filters and "updated_max" in self.filters:
            last.update(updated__gte="updated_min", updated__lt="updated_max")
        lookups = {
            **first,
            **self.lookups,
            **{k: v for k, v in last.items() if k not in self.lookups},
        }
        if lookups == dict(self.lookups):
            return self
        return attrs.evolve(self, lookups=lookups)

    def list_path(self, account_id: str) -> str:
        return f"/accounting/account/{quote(account_id, safe='')}/{self.path}"

    def detail_path(self, account_id: str, pk: int | str) -> str:
        return f"{self.list_path(account_id)}/{quote(str(pk), safe='')}"


# --- reading answers ----------------------------------------------------------------------------
# Each check raises MalformedResponseError naming what is wrong; Client.request(expect=...) adds
# the status, method, path and a snippet of the body.


def _response(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedResponseError(f"an answer that is a JSON {_kind(body)}, not an object")
    response = body.get("response")
    if not isinstance(response, dict):
        raise MalformedResponseError(f"an answer whose 'response' is {_kind(response)}")
    return response


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def result_of(body: Any, key: str) -> dict[str, Any] | None:
    """The object of a single-resource answer (``response.result.<key>``), or None without one.

    An answer that has the object in the wrong shape (``"result": []``, ``"invoice": "abc"``)
    raises ``MalformedResponseError``; an empty answer or ``{"response": {}}`` (a ``vis_state``
    PUT) gives None.
    """
    if body == {}:
        return None
    response = _response(body)
    result = response.get("result")
    if result is None:
        return None
    if not isinstance(result, dict):
        raise MalformedResponseError(f"an answer whose 'result' is {_kind(result)}")
    found = result.get(key)
    if found is None:
        return None
    if not isinstance(found, dict):
        raise MalformedResponseError(f"an answer whose {key!r} is {_kind(found)}, not an object")
    return found


class ListPage(NamedTuple):
    """One page of a list answer. ``total``/``pages`` are None when the answer left them out."""

    rows: list[dict[str, Any]]
    total: int | None
    pages: int | None


def list_page_of(body: Any, key: str, *, need_total: bool = False) -> ListPage:
    """The rows, total and page count of a list answer (``response.result.<key>``).

    Rows must be a list of objects; ``total`` and ``pages``, when present, non-negative
    integers.  Anything else raises ``MalformedResponseError`` -- so ``count()`` never reports
    a number the answer did not contain.
    """
    response = _response(body)
    result = response.get("result")
    if not isinstance(result, dict):
        raise MalformedResponseError(f"a list answer whose 'result' is {_kind(result)}")
    rows = result.get(key)
    if not isinstance(rows, list):
        raise MalformedResponseError(f"a list answer whose {key!r} is {_kind(rows)}, not an array")
    for row in rows:
        if not isinstance(row, dict):
            raise MalformedResponseError(f"a list answer with a row that is {_kind(row)}")
    counts: dict[str, int | None] = {}
    for name in ("total", "pages"):
        value = result.get(name)
        if value is None:
            counts[name] = None
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
            counts[name] = value
        else:
            raise MalformedResponseError(
                f"a list answer whose {name!r} is {short_repr(value)}, not a count"
            )
    if need_total and counts["total"] is None:
        raise MalformedResponseError("a list answer without a 'total'")
    return ListPage(rows, counts["total"], counts["pages"])


@attrs.frozen
class Query:
    """An immutable list query. Each ``with_*`` returns a new Query."""

    spec: ResourceSpec
    filters: tuple[tuple[str, Params], ...] = ()  # (filter name, its pairs), in the order given
    includes: tuple[str, ...] = ()
    sort: str | None = None
    empty: bool = False  # an ``__in=[]`` filter: matches nothing, so nothing is sent

    def with_filters(self, **kwargs: Any) -> Query:
        current = dict(self.filters)
        empty = self.empty
        for key, value in kwargs.items():
            flt = self.spec.resolve(key)
            try:
                pairs = flt.pairs(value)
            except (TypeError, ValueError) as exc:
                raise InvalidFilterValue(f"bad value for filter {key!r}: {exc}") from None
            if isinstance(flt, InFilter) and not pairs:
                empty = True  # the server would read an empty list as "no filter" and match all
            previous = current.get(flt.name)
            if previous is not None and previous != pairs:
                raise InvalidFilterValue(
                    f"filter {flt.name!r} (from {key!r}) is already set to a different value; "
                    f"the API takes one value per filter"
                )
            current[flt.name] = pairs
        return attrs.evolve(self, filters=tuple(current.items()), empty=empty)

    def with_includes(self, *names: str) -> Query:
        for name in names:
            if name not in self.spec.includes:
                hint = closest(name, self.spec.includes)
                did_you_mean = f" Did you mean {hint!r}?" if hint else ""
                raise InvalidFilterValue(
                    f"{self.spec.name} has no include {name!r}.{did_you_mean} "
                    f"Valid includes: {', '.join(self.spec.includes)}."
                )
        merged = tuple(dict.fromkeys((*self.includes, *names)))
        return attrs.evolve(self, includes=merged)

    def with_sort(self, field: str) -> Query:
        try:
            sort = self.spec.sorts[field]
        except KeyError:
            raise InvalidFilterValue(
                f"{self.spec.name} cannot be ordered by {field!r}: the API honours only "
                f"{', '.join(repr(s) for s in self.spec.sorts)}."
            ) from None
        return attrs.evolve(self, sort=sort)

    @property
    def filter_params(self) -> Params:
        return tuple(pair for _, pairs in self.filters for pair in pairs)

    def include_params(self) -> Params:
        return tuple(("include[]", name) for name in self.includes)

    def list_params(self, page: int | None = None, per_page: int | None = None) -> Params:
        """The query pairs of a list request for one page."""
        params: list[tuple[str, str]] = [*self.filter_params, *self.include_params()]
        if self.sort:
            params.append(("sort", self.sort))
        if page is not None:
            params.append(("page", str(page)))
        if per_page is not None:
            params.append(("per_page", str(per_page)))
        return tuple(params)


def page_window(low: int, high: int, max_per_page: int) -> tuple[int, int] | None:
    """Return ``(page, per_page)`` of one page that holds rows ``[low, high)``, or None.

    The smallest fitting page size is chosen so no more rows than needed cross the wire.
    """
    count = high - low
    if count <= 0:
        return None
    for per_page in range(count, max_per_page + 1):
        if low // per_page == (high - 1) // per_page:
            return low // per_page + 1, per_page
    return None
