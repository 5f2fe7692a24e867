"""Helpers shared by the sandbox tests (imported as a top-level module by pytest's rootdir path)."""

from __future__ import annotations

from typing import Any

import requests

from freshbooks_orm.sandbox import Sandbox


def invoices_url(sb: Sandbox, invoice_id: int | None = None, account: str | None = None) -> str:
    base = f"{sb.url}/accounting/account/{account or sb.account_id}/invoices/invoices"
    return base if invoice_id is None else f"{base}/{invoice_id}"


def authed_session(sb: Sandbox) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {sb.access_token}"
    return s


def list_all(
    session: requests.Session, sb: Sandbox, params: list[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Every invoice matching ``params``, following pages of 100."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        query = [*(params or []), ("per_page", "100"), ("page", str(page))]
        r = session.get(invoices_url(sb), params=query)
        assert r.status_code == 200, r.text
        result = r.json()["response"]["result"]
        out.extend(result["invoices"])
        if page >= result["pages"]:
            return out
        page += 1


def url(sb: Sandbox, path: str, oid: int | str | None = None) -> str:
    """The sandbox URL of an accounting ``path`` (``"invoices/invoices"``), or of one object."""
    base = f"{sb.url}/accounting/account/{sb.account_id}/{path}"
    return base if oid is None else f"{base}/{oid}"


def result(r: requests.Response) -> Any:
    """The ``result`` of a 200 answer."""
    assert r.status_code == 200, r.text
    return r.json()["response"]["result"]


def error_of(r: requests.Response) -> dict[str, Any]:
    """The one error of an error answer, checked to have the documented keys."""
    errors = r.json()["response"]["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert set(errors[0]) == {"errno", "field", "message", "object", "value"}
    return dict(errors[0])
