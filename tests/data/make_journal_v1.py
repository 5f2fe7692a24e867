"""How tests/data/journal_v1.sqlite3 and journal_v1_invoices.json were made (kept for the record).

Run with freshbooks_orm 0.1.0 (commit a079fd6, journal schema 1), from the repository root:

    python tests/data/make_journal_v1.py

It writes four runs against ``Sandbox(invoices=30, seed=3)``: a finished update (po_number on
5 invoices), an update interrupted by Ctrl-C after 4 of 12 invoices (notes), a finished update
(terms on 3 invoices) and the undo of that last one.  The JSON file holds the sandbox's state of
every invoice those runs touched afterwards, so a test can rebuild the exact server the journal
describes (``Sandbox(invoices=30, seed=3)`` then ``store.load`` of these invoices).  The runs name
the API host ``127.0.0.1:1``; a test rewrites it to its own sandbox's host.
"""

import json
import sqlite3
from pathlib import Path

from freshbooks_orm import Invoice
from freshbooks_orm.batch import BatchInterrupted, undo
from freshbooks_orm.batch.journal import Journal
from freshbooks_orm.sandbox import Sandbox

HERE = Path(__file__).parent
PATH = HERE / "journal_v1.sqlite3"


def main() -> None:
    PATH.unlink(missing_ok=True)
    with Sandbox(invoices=30, seed=3) as sb, Journal(PATH) as j:
        client = sb.client()
        ids = sorted(i for i, inv in sb.invoices.items() if inv["vis_state"] == 0)
        qs = Invoice.objects.using(client)
        qs.filter(id__in=ids[:5]).update(
            po_number="PO-V1", journal=j, progress=False, note="finished"
        )

        def stop_after_four(finished, total, outcome):
            if finished == 4:
                raise KeyboardInterrupt

        try:
            qs.filter(id__in=ids[5:17]).update(
                notes="v1 notes", journal=j, workers=1, progress=stop_after_four, note="interrupted"
            )
        except BatchInterrupted:
            pass
        third = qs.filter(id__in=ids[17:20]).update(
            terms="Net 45", journal=j, progress=False, note="undone"
        )
        undo(third.run_id, client=client, journal=j, progress=False, note="the undo")
        touched = {item.invoice_id for r in j.runs() for item in j.items(r.id)}
        state = {str(i): sb.invoices[i] for i in sorted(touched)}
    (HERE / "journal_v1_invoices.json").write_text(json.dumps(state, indent=1, sort_keys=True))
    db = sqlite3.connect(PATH)
    db.execute("UPDATE runs SET api_host = '127.0.0.1:1'")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()


if __name__ == "__main__":
    main()
