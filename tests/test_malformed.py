"""Malformed answers become typed errors: every wrong shape of a list or single answer, at any
depth, raises a FreshBooksError carrying status, method, path and a short snippet; a field the
server sent that does not parse raises FieldValueError naming resource, id, field and value.

Most cases answer through a ``requests`` session that returns canned bytes (no socket); the
command line and the 404 message run against the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freshbooks_orm import (
    Client,
    FieldValueError,
    FreshBooksError,
    Invoice,
    InvoiceLine,
    MalformedResponseError,
    RetryPolicy,
    TransportError,
    UncertainWriteError,
)
from freshbooks_orm.cli import main
from freshbooks_orm.orm.types import EASTERN
from freshbooks_orm.sandbox import Sandbox

LIST_PATH = "/accounting/account/zDmNq/invoices/invoices"


class Canned(requests.Session):
    """Answers every request with ``status`` and ``content`` (bytes or a JSON-able value)."""

    def __init__(self, content: Any = b"{}", status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.content = content
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self.status
        content = self.content
        response._content = content if isinstance(content, bytes) else json.dumps(content).encode()
        response.url = str(request.url)
        response.request = request
        return response


def client_for(content: Any, status: int = 200) -> Client:
    return Client(
        "a-token-for-tests",
        "zDmNq",
        base_url="https://api.example.test",
        session=Canned(content, status),
        retry=RetryPolicy(max_retries=0),
    )


def listing(**result: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"invoices": [], "page": 1, "pages": 0, "per_page": 100, "total": 0}
    base.update(result)
    return {"response": {"result": base}}


def single(invoice: Any) -> dict[str, Any]:
    return {"response": {"result": {"invoice": invoice}}}


# --- list envelopes -------------------------------------------------------------------------------

BAD_LISTS = {
    "total many": listing(total="many"),
    "total 3 as text": listing(total="3"),
    "total negative": listing(total=-1),
    "total fractional": listing(total=1.5),
    "total bool": listing(total=True),
    "total huge": listing(total=10**30),
    "pages many": listing(pages="many"),
    "pages list": listing(pages=[1]),
    "rows null": listing(invoices=None, total=1, pages=1),
    "rows dict": listing(invoices={"id": 1}, total=1, pages=1),
    "rows strings": listing(invoices=["abc"], total=1, pages=1),
    "rows with null": listing(invoices=[None], total=1, pages=1),
    "rows numbers": listing(invoices=[1, 2], total=2, pages=1),
    "result list": {"response": {"result": []}},
    "result string": {"response": {"result": "ok"}},
    "no result": {"response": {}},
    "response list": {"response": []},
    "no response": {"result": {"invoices": []}},
    "body list": [],
    "body string": "invoices",
    "body number": 42,
    "body null": None,
}


@pytest.mark.parametrize("body", BAD_LISTS.values(), ids=BAD_LISTS.keys())
@pytest.mark.parametrize(
    "action",
    [
        lambda qs: qs.count(),
        lambda qs: list(qs),
        lambda qs: qs.first(),
        lambda qs: qs.get(invoice_number="7"),
        lambda qs: qs[3:5].count(),
    ],
    ids=["count", "list", "first", "get", "slice-count"],
)
def test_malformed_list_answers_raise_typed_errors(body: Any, action: Callable[[Any], Any]) -> None:
    qs = Invoice.objects.using(client_for(body))
    with pytest.raises(MalformedResponseError) as info:
        action(qs)
    exc = info.value
    assert exc.status_code == 200 and exc.method == "GET" and exc.path == LIST_PATH
    assert isinstance(exc.body, str) and len(exc.body) <= 210  # a short snippet
    assert "answered" in str(exc) and LIST_PATH in str(exc)


def test_count_never_returns_a_number_the_answer_did_not_contain() -> None:
    for body in (listing(invoices=[{"id": 1}], total=None), listing(invoices={"id": 1}, total=1)):
        with pytest.raises(MalformedResponseError):
            Invoice.objects.using(client_for(body)).count()


def test_a_list_without_a_page_count_is_read_until_a_short_page() -> None:
    rows = [{"id": i} for i in range(1, 4)]
    client = client_for(listing(invoices=rows, total=None, pages=None))
    assert [inv.id for inv in Invoice.objects.using(client)] == [1, 2, 3]


@pytest.mark.parametrize(
    "read",
    [list, lambda qs: qs[30], lambda qs: qs.last(), lambda qs: list(qs.iterator())],
    ids=["list", "index", "last", "iterator"],
)
@pytest.mark.parametrize("counts", [{"pages": 3, "total": 60}, {"pages": None, "total": 60}])
def test_a_short_page_its_answer_says_is_not_the_last_is_a_typed_error(
    read: Callable[[Any], Any], counts: dict[str, Any]
) -> None:
    # a server that pages by 25 where 100 was asked: reading on would skip 35 rows silently
    rows = [{"id": i} for i in range(1, 26)]
    client = client_for(listing(invoices=rows, per_page=25, **counts))
    with pytest.raises(MalformedResponseError, match="smaller size than asked"):
        read(Invoice.objects.using(client).filter(customerid=5))


def test_a_short_last_page_is_the_end() -> None:
    rows = [{"id": i} for i in range(1, 26)]
    client = client_for(listing(invoices=rows, pages=1, total=25))
    assert len(list(Invoice.objects.using(client))) == 25


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"response": ' * 50_000 + b"1" + b"}" * 50_000,
        b'{"response": {"result": {"invoices": [], "total": NaN, "pages": 1}}}',
        b'{"response": {"result": {"invoices": [], "total": Infinity, "pages": 1}}}',
        b'{"response": {"result": {"invoices": [], "total": ' + b"9" * 5000 + b"}}}",
        b'{"response": {"result": {"invoices": [], "total": 1e400, "pages": 1}}}',
    ],
    ids=["deep-array", "deep-object", "NaN", "Infinity", "5000-digit", "1e400"],
)
def test_unreadable_bodies_are_transport_errors(content: bytes) -> None:
    with pytest.raises(TransportError) as info:
        Invoice.objects.using(client_for(content)).count()
    assert info.value.status_code == 200 and info.value.method == "GET"
    assert len(str(info.value)) < 600


def test_a_deeply_nested_error_body_is_still_a_typed_error() -> None:
    with pytest.raises(FreshBooksError) as info:
        Invoice.objects.using(client_for(b"[" * 100_000, status=400)).count()
    assert info.value.status_code == 400


# --- single envelopes -----------------------------------------------------------------------------

BAD_SINGLES = {
    "invoice string": single("abc"),
    "invoice list": single([{"id": 1}]),
    "invoice null": single(None),
    "result list": {"response": {"result": []}},
    "empty result": {"response": {"result": {}}},
    "no response": {"invoice": {"id": 1}},
    "body list": [{"id": 1}],
}


@pytest.mark.parametrize("body", BAD_SINGLES.values(), ids=BAD_SINGLES.keys())
def test_malformed_single_answers_raise_typed_errors(body: Any) -> None:
    with pytest.raises(MalformedResponseError) as info:
        Invoice.objects.using(client_for(body)).get(7)
    assert info.value.status_code == 200 and info.value.path == f"{LIST_PATH}/7"
    with pytest.raises(MalformedResponseError):
        Invoice.from_wire({"id": 7}, client_for(body)).refresh()


@pytest.mark.parametrize("body", BAD_SINGLES.values(), ids=BAD_SINGLES.keys())
def test_a_post_with_a_malformed_answer_is_an_uncertain_write(body: Any) -> None:
    client = client_for(body, status=201)
    with pytest.raises(UncertainWriteError) as info:
        Invoice.objects.using(client).create(customerid=1, create_date="2024-01-01")
    assert info.value.status_code == 201 and info.value.method == "POST"
    assert "look it up" in str(info.value)


def test_a_put_whose_answer_has_the_object_in_the_wrong_shape_raises() -> None:
    inv = Invoice.from_wire({"id": 7, "po_number": "a"}, client_for(single("abc")))
    inv.po_number = "b"
    with pytest.raises(MalformedResponseError):
        inv.save()
    assert inv.po_number == "b" and inv.is_dirty  # the change is kept for a retry


def test_a_put_answered_without_the_object_reads_it_back() -> None:
    session = Canned({"response": {}})
    client = Client("a-token-for-tests", "zDmNq", base_url="https://x.test", session=session)
    inv = Invoice.from_wire({"id": 7, "po_number": "a"}, client)
    inv.po_number = "b"
    session.content = {"response": {}}
    with pytest.raises(MalformedResponseError):  # the read-back has no invoice either
        inv.save()
    assert [r.method for r in session.sent] == ["PUT", "GET"]


# --- fields the server sent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "words"),
    [
        ("create_date", "2024-02-30", "day is out of range"),
        ("create_date", "2024", "YYYY-MM-DD"),
        ("create_date", 20240301, "YYYY-MM-DD"),
        ("status", "abc", "integer"),
        ("status", 1.5, "integer"),
        ("lines", "abc", "list of objects"),
        ("lines", [None], "list of objects"),
        ("lines", {"lineid": 1}, "list of objects"),
        ("amount", "12.00", "amount"),
        ("amount", {"amount": "NaN", "code": "USD"}, "finite"),
        ("amount", {"amount": "1", "code": "dollars"}, "three letters"),
        ("updated", "yesterday", "YYYY-MM-DD"),
        ("v3_status", ["sent"], "string"),
        ("customerid", "12a", "integer"),
        ("discount_value", "1e30", "range"),
        ("auto_bill", "maybe", "bool"),
        ("po_number", {"a": 1}, "str"),
    ],
)
def test_unreadable_fields_raise_field_value_error_naming_everything(
    field: str, raw: Any, words: str
) -> None:
    inv = Invoice.from_wire({"id": 42, field: raw})
    with pytest.raises(FieldValueError) as info:
        getattr(inv, field)
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, FreshBooksError)
    assert (error.resource, error.object_id, error.field) == ("Invoice", 42, field)
    text = str(error)
    assert "Invoice 42" in text and field in text and words in text
    assert error.value == raw or error.value == repr(raw) or isinstance(error.value, str)
    repr(inv)  # a repr never raises


def test_a_bad_line_field_names_the_line() -> None:
    inv = Invoice.from_wire({"id": 1, "lines": [{"lineid": 9, "qty": "Infinity"}]})
    (line,) = inv.lines  # loading the lines parses no line field (issue 13)
    with pytest.raises(FieldValueError) as info:
        line.qty  # noqa: B018
    assert (info.value.resource, info.value.object_id, info.value.field) == (
        "InvoiceLine",
        9,
        "qty",
    )
    assert "InvoiceLine 9" in str(info.value) and "'Infinity'" in str(info.value)
    assert not inv.is_dirty  # lines left alone are not compared, so not parsed
    line = InvoiceLine.from_wire({"lineid": 9, "qty": "Infinity"})
    assert "unreadable" in repr(line)


def test_a_bad_id_is_reported_without_recursion() -> None:
    inv = Invoice.from_wire({"id": "x" * 10})
    with pytest.raises(FieldValueError) as info:
        inv.pk  # noqa: B018
    assert info.value.field == "id" and info.value.object_id == "x" * 10


def test_datetimes_with_an_offset_are_converted_not_relabelled() -> None:
    inv = Invoice.from_wire({"id": 1, "updated": "2024-01-01T10:00:00Z"})
    assert inv.updated == dt.datetime(2024, 1, 1, 5, 0, tzinfo=EASTERN)
    assert inv.updated.utcoffset() == dt.timedelta(hours=-5)
    inv = Invoice.from_wire({"id": 1, "updated": "2024-07-01 10:00:00"})  # naive: Eastern
    assert inv.updated == dt.datetime(2024, 7, 1, 10, tzinfo=EASTERN)
    line = InvoiceLine.from_wire({"lineid": 1, "updated": "2024-07-01T10:00:00+02:00"})
    assert line.updated == dt.datetime(2024, 7, 1, 4, tzinfo=EASTERN)


# --- the sandbox: the 404 message and the command line --------------------------------------------


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(invoices=3, seed=1) as sandbox:
        yield sandbox


def test_does_not_exist_keeps_the_servers_message(sb: Sandbox) -> None:
    client = sb.client()
    sb.fail_next(404, body={"code": 5, "message": "Invoice not found.", "details": []})
    with pytest.raises(Invoice.DoesNotExist) as info:
        Invoice.objects.using(client).get(1)
    text = str(info.value)
    assert "Invoice 1 does not exist" in text and "Invoice not found." in text
    assert info.value.status_code == 404


@pytest.fixture
def cli_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Sandbox:
    monkeypatch.setenv("FRESHBOOKS_ORM_JOURNAL", str(tmp_path / "journal.sqlite3"))
    monkeypatch.setenv("FRESHBOOKS_ORM_TOKENS", str(tmp_path / "tokens.json"))
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.access_token)
    monkeypatch.setenv("FRESHBOOKS_ACCOUNT_ID", sb.account_id)
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    return sb


@pytest.mark.parametrize(
    "body",
    [
        listing(invoices={"id": 1}, total=1, pages=1),
        listing(invoices=[{"id": 1, "create_date": "2024-02-30"}], total=1, pages=1),
        listing(invoices=[{"id": 1, "amount": "12.00"}], total=1, pages=1),
        "[" * 50_000,
    ],
    ids=["rows-dict", "bad-date", "bare-money", "deep"],
)
def test_cli_reports_malformed_answers_in_one_line_with_exit_1(
    cli_env: Sandbox, body: Any, capsys: Any
) -> None:
    cli_env.fail_next(200, body=body, method="GET")
    assert main(["invoices", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "error:" in err


# --- property: nothing outside the error tree escapes ---------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "2024-02-30",
            "2024",
            "2024-01-01",
            "2024-01-01T10:00:00Z",
            "2024-01-01 10:00:00",
            "NaN",
            "sNaN",
            "Infinity",
            "1e999999",
            "-0",
            "12.00",
            "USD",
            "usd",
            "",
            "0000-00-00",
            "sent",
            "draft",
            "true",
            "1",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["amount", "code", "id", "x"]) | st.text(max_size=5),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)

GOOD_LINE = {
    "lineid": 5,
    "name": "a",
    "qty": "2",
    "unit_cost": {"amount": "3.00", "code": "USD"},
    "amount": {"amount": "6.00", "code": "USD"},
    "updated": "2024-01-01 10:00:00",
}
GOOD_INVOICE = {"id": 7, "invoiceid": 7, "invoice_number": "0007", "customerid": 3,
                "create_date": "2024-01-02", "amount": {"amount": "6.00", "code": "USD"},
                "status": 2, "v3_status": "sent", "updated": "2024-01-02 10:00:00",
                "vis_state": 0, "lines": [GOOD_LINE]}  # fmt: skip
INVOICE_KEYS = sorted({*GOOD_INVOICE, *(f.wire for f in Invoice._meta.fields.values())})
LINE_KEYS = sorted({*GOOD_LINE, *(f.wire for f in InvoiceLine._meta.fields.values())})
LIST_POSITIONS = ["body", "response", "result", "rows", "row", "total", "pages"]
SINGLE_POSITIONS = ["body", "response", "result", "invoice"]


def replaced(position: str, value: Any, invoice: dict[str, Any]) -> tuple[Any, Any]:
    """A list answer and a single answer with ``value`` at ``position``."""
    result = {"invoices": [invoice], "page": 1, "pages": 1, "per_page": 100, "total": 1}
    body: Any = {"response": {"result": result}}
    if position == "body":
        body = value
    elif position == "response":
        body["response"] = value
    elif position == "result":
        body["response"]["result"] = value
    elif position == "rows":
        result["invoices"] = value
    elif position == "row":
        result["invoices"] = [value]
    elif position in ("total", "pages"):
        result[position] = value
    one: Any = {"response": {"result": {"invoice": invoice}}}
    if position in ("body", "response", "result"):
        one = body if position != "result" else {"response": {"result": value}}
    elif position == "invoice" or position == "row":
        one = {"response": {"result": {"invoice": value}}}
    return body, one


def exercise(client: Client) -> None:
    """Everything a user does with answers; each step may only raise a FreshBooksError."""
    qs = Invoice.objects.using(client)
    steps: list[Callable[[], Any]] = [
        qs.count,
        qs.exists,
        lambda: qs.get(invoice_number="0007"),
        lambda: qs.get(7),
        lambda: [touch(inv) for inv in qs],
        lambda: touch(qs.get(7)),
        lambda: Invoice.objects.using(client).create(customerid=3, create_date="2024-01-02"),
    ]
    for step in steps:
        try:
            step()
        except FreshBooksError:
            pass


def touch(inv: Invoice) -> None:
    """Read every field, every line and every line field; render the object."""
    for name in Invoice._meta.fields:
        try:
            value = getattr(inv, name)
        except FieldValueError:
            continue
        if name == "lines":
            for line in value:
                for line_field in InvoiceLine._meta.fields:
                    try:
                        getattr(line, line_field)
                    except FieldValueError:
                        pass
                repr(line)
    repr(inv)
    try:
        inv.to_dict()
        _ = inv.is_dirty
    except FieldValueError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(["list", "single", "invoice", "line"]),
    position=st.sampled_from(LIST_POSITIONS + SINGLE_POSITIONS),
    invoice_key=st.sampled_from(INVOICE_KEYS),
    line_key=st.sampled_from(LINE_KEYS),
    value=json_values,
)
def test_random_json_anywhere_only_raises_errors_of_the_tree(
    where: str, position: str, invoice_key: str, line_key: str, value: Any
) -> None:
    invoice = json.loads(json.dumps(GOOD_INVOICE))
    if where == "invoice":
        invoice[invoice_key] = value
        position = "row"
        value = invoice
    elif where == "line":
        invoice["lines"][0][line_key] = value
        position = "row"
        value = invoice
    body, one = replaced(position, value, invoice)
    for answer in (body, one) if where != "single" else (one,):
        exercise(client_for(answer))
    if where != "single":
        try:
            touch(Invoice.from_wire(invoice))
        except FreshBooksError:
            pass


def test_the_good_answer_reads_cleanly() -> None:
    """The property's baseline: with nothing replaced, everything reads without an error."""
    inv = Invoice.objects.using(client_for(single(GOOD_INVOICE))).get(7)
    assert inv.lines[0].qty == Decimal("2") and inv.amount.code == "USD"
    assert Invoice.objects.using(client_for(replaced("total", 1, GOOD_INVOICE)[0])).count() == 1
