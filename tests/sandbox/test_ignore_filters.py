"""``Sandbox(ignore_filters=...)``: the sandbox drops chosen filters, as the live API drops keys
it does not know, so the query planner's "the server ignored a filter" checks can be tested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sandbox_helpers import authed_session, list_all
from test_sandbox_http import FILTERS, active, ids

from freshbooks_orm.sandbox import Sandbox


@pytest.fixture(scope="module")
def isb() -> Iterator[Sandbox]:
    with Sandbox(invoices=200, seed=1) as sandbox:
        yield sandbox


@pytest.fixture
def ihttp(isb: Sandbox) -> Iterator[requests.Session]:
    isb.ignore_filters = set()
    with authed_session(isb) as s:
        yield s
    isb.ignore_filters = set()


def wire_name(key: str) -> str:
    """``search[customerids][]`` -> ``customerids``; ``paid`` -> ``paid``."""
    if key.startswith("search["):
        return key[len("search[") : key.index("]")]
    return key


SINGLE = sorted(c for c in FILTERS if c != "combined")


@pytest.mark.parametrize("case", SINGLE)
def test_each_filter_can_be_ignored(case: str, isb: Sandbox, ihttp: requests.Session) -> None:
    data = isb.invoices
    pool = sorted(active(data), key=lambda i: i["id"])
    query, pred = FILTERS[case](pool)
    names = {wire_name(k) for k, _ in query}
    expected = {i["id"] for i in pool if pred(i)}
    assert ids(list_all(ihttp, isb, query)) == expected  # honoured
    isb.ignore_filter(*names)
    assert isb.ignore_filters == frozenset(names)
    assert ids(list_all(ihttp, isb, query)) == {i["id"] for i in pool}  # dropped: everything
    isb.honour_filter(*names)
    assert ids(list_all(ihttp, isb, query)) == expected


def test_constructor_and_only_the_named_filter(ihttp: requests.Session) -> None:
    with Sandbox(invoices=80, seed=2, ignore_filters={"statusid"}) as sb, authed_session(sb) as s:
        assert sb.ignore_filters == {"statusid"}
        pool = active(sb.invoices)
        everything = {i["id"] for i in pool}
        assert ids(list_all(s, sb, [("search[statusid]", "4")])) == everything
        # The "in" form and the other filters still apply.
        paid = {i["id"] for i in pool if i["status"] == 4}
        assert 0 < len(paid) < len(everything)
        assert ids(list_all(s, sb, [("search[statusids][]", "4")])) == paid
        usd = {i["id"] for i in pool if i["currency_code"] == "USD"}
        got = ids(list_all(s, sb, [("search[statusid]", "4"), ("search[currency_code]", "USD")]))
        assert got == usd
        # A list request never errors on an ignored filter's bad value: the key is simply unknown.
        r = s.get(f"{sb.url}/accounting/account/{sb.account_id}/invoices/invoices",
                  params={"search[statusid]": "abc"})  # fmt: skip
        assert r.status_code == 200
        sb.ignore_filters = set()
        assert s.get(r.url).status_code == 400


def test_paid_covers_top_level_and_search_forms(isb: Sandbox, ihttp: requests.Session) -> None:
    everything = {i["id"] for i in active(isb.invoices)}
    isb.ignore_filters = {"paid"}
    assert ids(list_all(ihttp, isb, [("paid", "true")])) == everything
    assert ids(list_all(ihttp, isb, [("search[paid]", "true")])) == everything


def test_running_sandbox_switch_is_seen_by_next_request(
    isb: Sandbox, ihttp: requests.Session
) -> None:
    query = [("search[customerids][]", str(next(iter(isb.invoices.values()))["customerid"]))]
    narrowed = list_all(ihttp, isb, query)
    isb.ignore_filters = frozenset({"customerids"})
    assert len(list_all(ihttp, isb, query)) > len(narrowed)
    isb.ignore_filters = ()
    assert list_all(ihttp, isb, query) == narrowed


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ({"statusidd"}, "did you mean 'statusid'"),
        ({"search[statusid]"}, "unknown filter"),
    ],
)
def test_unknown_names_are_refused(names: set[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Sandbox(ignore_filters=names)
    sb = Sandbox()
    with pytest.raises(ValueError, match=r"known wire filter names: .*statusid"):
        sb.ignore_filter(*names)
    assert sb.ignore_filters == frozenset()


def test_a_single_string_is_refused() -> None:
    with pytest.raises(TypeError, match="collection"):
        Sandbox(ignore_filters="statusid")
