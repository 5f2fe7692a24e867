"""Benchmark 6: what the library adds per request, and what ``import freshbooks_orm`` costs.

* Per request: ``client.request("GET", ...)`` (retry policy, auth, error mapping, logging, the
  JSON parse with ``Decimal``) against a bare ``requests.Session().get()`` plus ``json.loads``
  of the same small answer, in client CPU time over a few hundred requests.
* Import: ``python -X importtime -c "import freshbooks_orm"`` against ``import requests``, each
  in a fresh interpreter, interleaved; the figure is the cumulative time of the top-level
  module as ``-X importtime`` reports it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import requests

from .common import Config, Section, Target, ms, ratio, ratio_target, time_interleaved
from .remote import RemoteSandbox

TITLE = "Overheads: per request, and at import"
BARE = "requests.Session().get(url) + json.loads"
BARE_NO_ENV = "the same, trust_env=False (no environment reads)"
OURS = 'freshbooks_orm client.request("GET", path)'
#: Modules only some paths need; a plain import must not load them.
LAZY = ("oauthlib", "tqdm", "freshbooks_orm.sandbox", "dateutil.parser", "freshbooks_orm.cli")


def _import_us(module: str) -> tuple[int, list[str]]:
    """Cumulative microseconds of ``import module`` in a fresh interpreter, and which of
    ``LAZY`` it loaded."""
    probe = (
        f"import sys, json; import {module}; "
        f"print(json.dumps([m for m in {list(LAZY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = 0
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            cumulative = int(parts[1])
    return cumulative, json.loads(done.stdout.strip().splitlines()[-1])


def run(cfg: Config) -> Section:
    rows: list[list[str]] = []
    with RemoteSandbox(50, seed=7) as sb:
        client = sb.client()
        invoice_id = client.request("GET", "/accounting/account/{account_id}/invoices/invoices")[
            "response"
        ]["result"]["invoices"][0]["id"]
        path = f"/accounting/account/{sb.account_id}/invoices/invoices/{invoice_id}"
        url = sb.url + path
        session = requests.Session()
        no_env = requests.Session()
        no_env.trust_env = False
        headers = {"Authorization": f"Bearer {sb.access_token}"}
        m = cfg.requests_m

        def bare() -> int:
            for _ in range(m):
                json.loads(session.get(url, headers=headers).content)
            return m

        def bare_no_env() -> int:
            for _ in range(m):
                json.loads(no_env.get(url, headers=headers).content)
            return m

        def ours() -> int:
            for _ in range(m):
                client.request("GET", path)
            return m

        contenders: dict[str, Callable[[], Any]] = {
            BARE: bare,
            BARE_NO_ENV: bare_no_env,
            OURS: ours,
        }
        t = time_interleaved(contenders, reps=cfg.requests_reps)
        client.close()
        session.close()
        no_env.close()
    for name, timing in t.items():
        rows.append(
            [
                f"{m} GETs of one invoice: {name}",
                f"{timing.cpu_median / m * 1e6:,.0f} us",
                f"{timing.cpu_min / m * 1e6:,.0f} us",
                f"{ratio(timing.cpu_median, t[BARE].cpu_median):.3f}x",
                f"{timing.median / m * 1e6:,.0f} us",
            ]
        )

    ours_us: list[int] = []
    requests_us: list[int] = []
    loaded: list[str] = []
    for _ in range(cfg.import_reps):  # interleaved
        us, loaded = _import_us("freshbooks_orm")
        ours_us.append(us)
        requests_us.append(_import_us("requests")[0])
    ours_med, req_med = statistics.median(ours_us), statistics.median(requests_us)
    extra = (ours_med - req_med) / 1000
    extra_min = (min(ours_us) - min(requests_us)) / 1000
    rows.append(
        [
            "import requests (-X importtime, cumulative)",
            ms(req_med / 1e6),
            ms(min(requests_us) / 1e6),
            "",
            "",
        ]
    )
    rows.append(
        [
            "import freshbooks_orm (-X importtime, cumulative)",
            ms(ours_med / 1e6),
            ms(min(ours_us) / 1e6),
            f"+{extra:.0f} ms",
            "",
        ]
    )
    per_request = ratio_target(
        "per request (client CPU): client.request() <= 1.05x a bare session.get() + json.loads",
        "library CPU per request: < 5% over a bare session.get()",
        t[OURS],
        t[BARE],
        1.05,
        note=f"Against a bare session that does not read the environment either: "
        f"{ratio(t[OURS].cpu_median, t[BARE_NO_ENV].cpu_median):.3f}x.",
    )
    targets = [
        per_request,
        Target(
            "import freshbooks_orm <= import requests + 30 ms (-X importtime, medians)",
            f"+{extra:.0f} ms",
            extra <= 30,
            goal="import freshbooks_orm: <= import requests + 30 ms",
            result=f"+{extra:.0f} ms ({ms(ours_med / 1e6)} vs {ms(req_med / 1e6)})",
            limit="<= +30 ms",
            minimum=f"+{extra_min:.0f} ms",
            note="Loaded by a plain import, of the modules only some paths need: "
            + (", ".join(loaded) if loaded else "none")
            + f" (checked: {', '.join(LAZY)}).",
        ),
    ]
    return Section(
        key="overhead",
        title=f"6. {TITLE}",
        method=(
            f"Per request: {cfg.requests_m} GETs of one invoice per run, a warm-up and "
            f"{cfg.requests_reps} timed runs each, round-robin, against the page server (in "
            "its own process, answers from memory); client CPU time per request is the "
            "headline. The bare session is a default requests.Session (it reads the "
            "environment's proxy and CA settings on every request, as requests does); the "
            "client resolves them once. Import: a fresh interpreter per measurement, "
            f"{cfg.import_reps} of each, interleaved; -X importtime's cumulative figure for "
            "the top-level module."
        ),
        columns=["work", "CPU median", "CPU min", "vs bare", "wall median"],
        rows=rows,
        targets=targets,
    )
