"""``demo`` (a tour of the library on an embedded sandbox) and ``sandbox serve``."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import unquote

from .._version import __version__
from ..http.transport import configure
from ..resources.invoices import Invoice
from .context import Context
from .output import PROG, _json_default
from .parser import SANDBOX_INVOICES

__all__ = ["cmd_demo", "cmd_serve", "run_demo"]


def cmd_serve(ctx: Context) -> int:
    from ..sandbox import Sandbox

    a = ctx.args
    stop = threading.Event()
    with Sandbox(invoices=a.invoices, seed=a.seed, port=a.port) as sb:
        ctx.print(f"export FRESHBOOKS_ACCESS_TOKEN={sb.access_token}")
        ctx.print(f"export FRESHBOOKS_ACCOUNT_ID={sb.account_id}")
        ctx.print(f"export FRESHBOOKS_API_URL={sb.url}")
        # For `freshbooks-orm login` against this sandbox (a throwaway app's credentials).
        ctx.print(f"export FRESHBOOKS_CLIENT_ID={sb.client_id}")
        ctx.print(f"export FRESHBOOKS_CLIENT_SECRET={sb.client_secret}")
        ctx.out.flush()
        ctx.note(f"# sandbox with {a.invoices} invoices serving at {sb.url}; Ctrl-C to stop")
        ctx.err.flush()
        handler = _on_signal(stop)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            handler()
    return 0


def _on_signal(stop: threading.Event) -> Callable[[], None]:
    """Let SIGTERM stop the server like Ctrl-C; return the undo of that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def cmd_demo(ctx: Context) -> int:
    return run_demo(ctx.out)


def run_demo(out: TextIO) -> int:
    """A tour on an in-process sandbox: each step's code, its result and the requests it sent."""
    from ..sandbox import Sandbox

    def say(text: str = "") -> None:
        print(text, file=out)

    with Sandbox(invoices=SANDBOX_INVOICES, seed=1) as sb:
        client = sb.client()
        base = f"/accounting/account/{sb.account_id}/invoices/invoices"

        def step(title: str, code: str, action: Callable[[], Any]) -> Any:
            sb.requests.clear()
            say(f"\n# {title}")
            for line in code.strip().splitlines():
                say(f"{'...' if line[:1].isspace() else '>>>'} {line}")
            value = action()
            if value is not None:
                for line in str(value).splitlines():
                    say(f"    {line}")
            sent = list(sb.requests)
            say(f"    [{len(sent)} request{'s' if len(sent) != 1 else ''}]")
            for r in sent:
                query = "&".join(f"{k}={v}" for k, v in r.query)
                path = r.path.replace(base, "…/invoices", 1)
                say(f"    {r.method} {path}{'?' + query if query else ''} -> {r.status}")
                if r.json is not None:
                    shortened = "lines" in str(r.json)
                    label = "body (each line cut to lineid, name, qty)" if shortened else "body"
                    say(f"        {label}: {_demo_body(r.json)}")
            return value

        say(f"freshbooks_orm {__version__} demo: an embedded FreshBooks sandbox at {sb.url}")
        say(f"with {SANDBOX_INVOICES} invoices; '…/invoices' below is {base}.")
        say("In your own code: configure(Client(access_token=..., account_id=...)), or set")
        say("FRESHBOOKS_ACCESS_TOKEN and FRESHBOOKS_ACCOUNT_ID.")
        configure(client)
        try:
            state: dict[str, Any] = {}

            def build() -> Any:
                state["qs"] = Invoice.objects.filter(v3_status="sent", date_min="2022-06-01")
                return unquote(str(state["qs"].url)).replace(sb.url + base, "…/invoices")

            step(
                "A filtered query is lazy: it knows its URL and has sent nothing",
                'sent = Invoice.objects.filter(v3_status="sent", date_min="2022-06-01")\nsent.url',
                build,
            )
            qs = state["qs"]
            step("count() asks for one row and reads the total", "sent.count()", qs.count)
            first = qs.first()
            step(
                "first() is one request too",
                "inv = sent.first()\nprint(inv.invoice_number, inv.amount, inv.create_date)",
                lambda: _row(qs.first()),
            )
            step(
                "A slice is one request of just those rows",
                "for inv in sent[2:5]:\n    print(inv.invoice_number, inv.amount, inv.create_date)",
                lambda: "\n".join(_row(inv) for inv in qs[2:5]),
            )
            step(
                "Iterating pages at 100 per request",
                "invoices = list(Invoice.objects.all()); len(invoices)",
                lambda: len(list(Invoice.objects.all())),
            )

            def related() -> Any:
                customer = first.customer
                paid = [str(p.amount) for p in first.payments]
                who = customer.organization if customer is not None else None
                return f"{who}; payments: {', '.join(paid) or 'none'}"

            step(
                "Relations: the customer is one GET (then cached), the payments a queryset",
                "inv.customer.organization\n[p.amount for p in inv.payments]",
                related,
            )
            step(
                "select_related: the customers of a whole page cost one extra request",
                'for inv in sent.select_related("customer")[:4]:\n'
                "    print(inv.invoice_number, inv.customer.organization)",
                lambda: "\n".join(
                    f"{inv.invoice_number} {inv.customer.organization if inv.customer else '-'}"
                    for inv in qs.select_related("customer")[:4]
                ),
            )

            def edit_line() -> Any:
                line = first.lines[0]
                line.qty = (line.qty or 0) + 1
                count = len(first.lines)
                first.save()
                return f"saved: one PUT carrying all {count} lines (ids kept)"

            step(
                "A line edit: lines load on first access; save() sends EVERY line "
                "(FreshBooks deletes lines a PUT leaves out)",
                "inv.lines[0].qty += 1\ninv.save()",
                edit_line,
            )
            step(
                "delete() sends vis_state alone (FreshBooks drops anything sent with it)",
                "inv.delete()",
                lambda: first.delete(),
            )
            step(
                "A batch fix, dry run first: shows every change, sends no write",
                'Invoice.objects.filter(v3_status="draft").update(po_number="PO-7", dry_run=True)',
                lambda: Invoice.objects.filter(v3_status="draft").update(
                    po_number="PO-7", dry_run=True
                ),
            )
        finally:
            configure(None)
            client.close()
    say("\nWithout dry_run=True the fix is journalled, resumable and undoable:")
    say(f"  {PROG} sandbox serve   # then, in another shell, the export lines it prints, and")
    say(f"  {PROG} invoices update --filter v3_status=draft --set po_number=PO-7 --dry-run")
    say(f"  {PROG} runs list; {PROG} runs undo latest")
    return 0


def _row(inv: Any) -> str:
    return f"{inv.invoice_number} {inv.amount} {inv.create_date}"


def _demo_body(body: Any) -> str:
    """A request body in one line, each line shortened to its id and name."""
    invoice = body.get("invoice") if isinstance(body, dict) else None
    if isinstance(invoice, dict) and isinstance(invoice.get("lines"), list):
        shown = dict(invoice)
        shown["lines"] = [
            {k: line[k] for k in ("lineid", "name", "qty") if k in line}
            for line in invoice["lines"]
        ]
        return json.dumps({"invoice": shown}, default=_json_default)
    return json.dumps(body, default=_json_default)
