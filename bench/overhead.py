"""Benchmark 6: what the library adds per request, and what ``import freshbooks_orm`` costs.

* Per request: ``client.request("GET", ...)`` (retry policy, auth, error mapping, logging, the
  JSON parse with ``Decimal``) against a bare ``requests.Session().get()`` plus ``json.loads``
  of the same small answer, in client CPU time over a few hundred requests.
* Import: ``python -X importtime -c "import freshbooks_orm"`` against ``import requests``, each
  in a fresh interpreter, interleaved; the figure is the cumulative time of the top-level
  module as ``-X importtime`` reports it.
"""

from __future__ import annotations

import ast
import json
import os
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
LAZY = (
    "oauthlib",
    "tqdm",
    "freshbooks_orm.sandbox",
    "dateutil.parser",
    "freshbooks_orm.cli",
    "freshbooks_orm.batch",
    "freshbooks_orm.orm.queryset",
    "freshbooks_orm.resources.invoices",
)
PLAIN = "import freshbooks_orm"
FIRST_USE = "from freshbooks_orm import Invoice"


def _import_us(statement: str) -> tuple[int, list[str]]:
    """Microseconds ``statement`` spends importing, in a fresh interpreter, and which of
    ``LAZY`` it loaded: the sum of ``-X importtime``'s cumulative figures of the top-level
    imports it makes (one for ``import requests``; for a name the package gives on first use,
    its module's import comes after the package's).  The interpreter's start-up (``site``,
    with the finder an editable install adds there) is outside every figure."""
    probe = f"{statement}\nimport sys\nprint([m for m in {list(LAZY)!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    total, after_site = 0, False
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]
        if name.startswith(" "):  # imported by another import: inside its cumulative figure
            continue
        if after_site:
            total += int(parts[1])
        after_site = after_site or name == "site"
    return total, list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def _warm_bytecode() -> None:
    """Import once with bytecode writing allowed, so every measurement reads cached bytecode
    as an installed package does (``pip install`` compiles it), whatever
    ``PYTHONDONTWRITEBYTECODE`` says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = f"import requests\n{PLAIN}\nimport freshbooks_orm.orm.registry as r\nr.models()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _import_part(cfg: Config) -> tuple[list[list[str]], Target]:
    """The import rows and target: a fresh interpreter per measurement, interleaved."""
    _warm_bytecode()
    us: dict[str, list[int]] = {"import requests": [], PLAIN: [], FIRST_USE: []}
    loaded: list[str] = []
    for _ in range(cfg.import_reps):
        for statement in us:
            took, seen = _import_us(statement)
            us[statement].append(took)
            if statement == PLAIN:
                loaded = seen
    med = {s: statistics.median(v) for s, v in us.items()}
    low = {s: min(v) for s, v in us.items()}
    base = "import requests"
    # What a statement adds is taken round by round (each round runs the statements back to
    # back), then the median of those differences: a burst of load on the machine lands on
    # both sides of a pair and cancels, where a difference of two medians would keep it.
    added = {
        s: statistics.median(a - b for a, b in zip(v, us[base], strict=True)) for s, v in us.items()
    }
    rows = []
    for statement in us:
        extra = "" if statement == base else f"+{added[statement] / 1000:.0f} ms"
        what = " (first use)" if statement == FIRST_USE else ""
        rows.append(
            [
                f"{statement}{what} (-X importtime, cumulative)",
                ms(med[statement] / 1e6),
                ms(low[statement] / 1e6),
                extra,
                "",
            ]
        )
    extra = added[PLAIN] / 1000
    extra_min = (low[PLAIN] - low[base]) / 1000
    target = Target(
        "import freshbooks_orm <= import requests + 30 ms (-X importtime, median of paired "
        "differences)",
        f"+{extra:.0f} ms",
        extra <= 30,
        goal="import freshbooks_orm: <= import requests + 30 ms",
        result=f"+{extra:.0f} ms ({ms(med[PLAIN] / 1e6)} vs {ms(med[base] / 1e6)})",
        limit="<= +30 ms",
        minimum=f"+{extra_min:.0f} ms",
        note="Loaded by a plain import, of the modules only some paths need: "
        + (", ".join(loaded) if loaded else "none")
        + f" (checked: {', '.join(LAZY)}). The resources, the query layer and the aggregates "
        f"load on first use; `{FIRST_USE}` costs "
        f"+{added[FIRST_USE] / 1000:.0f} ms over import requests.",
    )
    return rows, target


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

    import_rows, import_target = _import_part(cfg)
    rows += import_rows
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
        import_target,
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
            f"{cfg.import_reps} of each, interleaved, bytecode cached (as after pip install); "
            "-X importtime's cumulative figures of the statement's top-level imports. The "
            "interpreter's start-up is outside every figure (site, and the finder an editable "
            "install adds there: about 9 ms with pip install -e, none with pip install .)."
        ),
        columns=["work", "CPU median", "CPU min", "vs bare", "wall median"],
        rows=rows,
        targets=targets,
    )
