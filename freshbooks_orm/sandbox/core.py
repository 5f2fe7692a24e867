"""``Sandbox``: a stateful in-process stand-in for the FreshBooks invoices API."""

from __future__ import annotations

import difflib
import random
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .auth import AUTHORIZE_PATH, TokenRegistry
from .seed import generate, paused_gc
from .server import DROP, AppState, Fault, FaultQueue, SandboxServer
from .store import FILTER_NAMES, Store

__all__ = ["VIS_STATE_REPLIES", "RecordedRequest", "Sandbox"]

#: The answers to a ``vis_state`` PUT FreshBooks is seen to give: the seed doc's empty
#: ``{"response": {}}`` and the updated object (SDK docs and tests for other resources).
VIS_STATE_REPLIES = ("empty", "object")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the sandbox received, as answered.

    ``path`` has no query string; ``query`` holds the parsed pairs in order (repeats kept);
    ``json`` is the parsed JSON body (None if none or unparsable); ``status`` is what was
    answered (0 for a dropped connection); ``form`` is the token endpoint's body (form or
    JSON) with secret values replaced by ``"***"``.  The Authorization header is never kept.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    json: Any
    status: int
    form: dict[str, str] | None = None

    def query_dict(self) -> dict[str, list[str]]:
        """The query pairs grouped by key."""
        out: dict[str, list[str]] = {}
        for key, value in self.query:
            out.setdefault(key, []).append(value)
        return out


class Sandbox:
    """A FreshBooks accounting API (every resource of :mod:`.resources`, identity, OAuth) on
    127.0.0.1.

    ``Sandbox(invoices=N, seed=S)`` seeds N deterministic invoices and the clients, payments,
    estimates... linked to them (see :mod:`.seed`); use it as a context manager or call
    :meth:`start` / :meth:`stop`.  Resources are served at their documented paths under
    ``/accounting/account/<account_id>/`` (``invoices/invoices``, ``users/clients``,
    ``payments/payments``, ``estimates/estimates``, ...; :data:`.server.ROUTES`).

    Attributes and helpers:

    * ``url`` -- ``http://127.0.0.1:<port>`` (a free port unless ``port=`` is given).
    * ``account_id`` (default ``"zDmNq"``) and ``extra_accounts`` (empty accounts that also
      appear as business memberships of ``/auth/api/v1/users/me``).
    * ``access_token`` / ``refresh_token`` -- a valid initial token pair.
    * ``invoices`` -- deep copies of the main account's invoices (wire format, with lines).
    * ``store`` -- the main account's :class:`~.store.Store` (``stores``: every account's);
      ``store.tables["payments"]`` etc. hold each resource, ``objects(name)`` deep-copies one.
    * ``requests`` -- every request as a :class:`RecordedRequest` (``.clear()`` to reset).
    * ``fail_next(status, body=None, headers=None, times=1, method=None)`` -- inject failures;
      ``status="drop"`` closes the connection without answering.
    * ``latency`` -- seconds slept before answering each request (settable any time).
    * ``vis_state_reply`` -- ``"empty"`` (default: ``{"response": {}}``, as the seed doc shows)
      or ``"object"`` (the updated object, as SDK tests show): how a PUT carrying
      ``vis_state``/``ext_vis_state``/``action_*`` is answered; settable any time.
    * ``ignore_filters`` -- wire filter names the server silently drops, as the live API drops
      keys it does not know (so a list answers *more* rows than asked for).  Names are the
      wire names: ``"statusid"`` for ``search[statusid]``, ``"paid"`` for ``search[paid]`` and
      a top-level ``paid``, ``"customerids"`` for ``search[customerids][]``; a plain name applies
      to every resource, ``"payments.customerid"`` to one resource only.  Pass it to the
      constructor (``Sandbox(ignore_filters={"statusid"})``), assign a new set on a running
      sandbox (``sb.ignore_filters = {"paid"}``; ``set()`` honours every filter again), or
      add names with ``sb.ignore_filter("statusid", ...)`` / drop them with
      ``sb.honour_filter(...)``.  An unknown name raises ``ValueError`` naming the known ones.
    * ``client_id`` / ``client_secret`` / ``redirect_uri``, ``issue_tokens()``,
      ``authorization_code()``, ``expire_access_tokens()``, ``token_lifetime``.
    * ``authorize_url`` -- an OAuth authorization endpoint that approves at once and redirects
      to the ``redirect_uri`` (the registered one or any loopback one) with ``code`` and ``state``.
    * Robustness limits (constructor arguments): ``idle_timeout`` (30 s: an idle keep-alive
      connection, or a request whose headers or body stall, is closed -- a stalled body is
      answered 408), ``max_connections`` (64 connection threads; beyond that a connection is
      answered 503 with ``Retry-After: 1`` and closed), ``max_body`` (4 MiB; a larger body is
      answered 413 without being read).  Chunked request bodies are read.  Malformed, nested
      (> 64 levels), ``NaN``/``Infinity`` or huge-integer JSON answers 400 errno 1005;
      out-of-range values (``1e30`` amounts, ``due_offset_days=1e9``) answer 422 errno 1015
      or 1004 -- never a 500 or a dropped connection.
    * ``client(**kw)`` -- a ``freshbooks_orm.Client`` pointed at the sandbox.
    """

    def __init__(
        self,
        invoices: int = 0,
        seed: int = 0,
        *,
        account_id: str = "zDmNq",
        extra_accounts: Iterable[str] = (),
        port: int = 0,
        latency: float = 0.0,
        ignore_filters: Iterable[str] = (),
        vis_state_reply: str = "empty",
        idle_timeout: float = 30.0,
        max_connections: int = 64,
        max_body: int = 4 * 1024 * 1024,
    ) -> None:
        if invoices < 0:
            raise ValueError("invoices must be >= 0")
        self.account_id = account_id
        self.extra_accounts: tuple[str, ...] = tuple(
            a for a in dict.fromkeys(extra_accounts) if a != account_id
        )
        self.seed = seed
        self.latency = latency
        self._ignored: frozenset[str] = _check_filter_names(ignore_filters)
        self.vis_state_reply = vis_state_reply
        if idle_timeout <= 0 or max_connections < 1 or max_body < 1:
            raise ValueError("idle_timeout, max_connections and max_body must be positive")
        self._limits = {
            "idle_timeout": float(idle_timeout),
            "max_connections": int(max_connections),
            "max_body": int(max_body),
        }
        self.requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        seeded = generate(invoices, seed, account_id)
        self.store = Store(account_id)
        with paused_gc():  # ~1M acyclic containers: collections would only cost time
            for name, objs in seeded.items():
                self.store.load_objects(name, objs)
        stores = {account_id: self.store}
        for extra in self.extra_accounts:  # the same clients, nothing else
            stores[extra] = Store(extra)
            clients = [{**c, "accounting_systemid": extra} for c in seeded["clients"]]
            stores[extra].load_objects("clients", clients)
        self.stores = stores
        rng = random.Random(f"sandbox-ids-{seed}")
        self.client_id = f"sandbox-client-{rng.getrandbits(32):08x}"
        self.client_secret = secrets.token_hex(16)
        self.redirect_uri = "https://localhost/freshbooks/callback"
        self._tokens = TokenRegistry(self.client_id, self.client_secret, self.redirect_uri)
        first = self._tokens.issue()
        self.access_token: str = first["access_token"]
        self.refresh_token: str = first["refresh_token"]
        self._faults = FaultQueue()
        self._port = port
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self.identity = self._identity()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        app = AppState(
            stores=self.stores,
            tokens=self._tokens,
            faults=self._faults,
            identity=self.identity,
            record=self._record,
            latency=lambda: self.latency,
            ignored_filters=lambda: self._ignored,
            vis_state_reply=lambda: self._vis_state_reply,
        )
        self._server = SandboxServer(
            ("127.0.0.1", self._port),
            app,
            idle_timeout=self._limits["idle_timeout"],
            max_connections=int(self._limits["max_connections"]),
            max_body=int(self._limits["max_body"]),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"freshbooks-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}{AUTHORIZE_PATH}"

    # ------------------------------------------------------------------ conveniences

    def client(self, **kwargs: Any) -> Any:
        """A ``freshbooks_orm.Client`` pointed at this sandbox."""
        from freshbooks_orm import Client  # type: ignore[attr-defined,unused-ignore]

        return Client(
            access_token=self.access_token,
            account_id=self.account_id,
            base_url=self.url,
            **kwargs,
        )

    @property
    def invoices(self) -> dict[int, dict[str, Any]]:
        """Deep copies of the main account's stored invoices (wire format, with lines)."""
        return self.store.snapshot()

    def objects(self, resource: str) -> dict[int, dict[str, Any]]:
        """Deep copies of the main account's stored objects of one resource (``"payments"``)."""
        if resource not in self.store.tables:
            raise ValueError(
                f"unknown resource {resource!r}; known: {', '.join(sorted(self.store.tables))}"
            )
        return self.store.snapshot_of(resource)

    def fail_next(
        self,
        status: int | str,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (or ``"drop"``)."""
        if status != DROP and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError(f"status must be an HTTP status code or {DROP!r}, not {status!r}")
        if times < 1:
            raise ValueError("times must be >= 1")
        self._faults.push(
            Fault(status, body, dict(headers or {}), times, method.upper() if method else None)
        )

    @property
    def vis_state_reply(self) -> str:
        """How a PUT carrying ``vis_state`` is answered: ``"empty"`` or ``"object"``."""
        return self._vis_state_reply

    @vis_state_reply.setter
    def vis_state_reply(self, mode: str) -> None:
        if mode not in VIS_STATE_REPLIES:
            raise ValueError(
                f"vis_state_reply must be one of {', '.join(map(repr, VIS_STATE_REPLIES))}, "
                f"not {mode!r}"
            )
        self._vis_state_reply = mode

    @property
    def ignore_filters(self) -> frozenset[str]:
        """The wire filter names the server currently drops (see the class docstring)."""
        return self._ignored

    @ignore_filters.setter
    def ignore_filters(self, names: Iterable[str]) -> None:
        self._ignored = _check_filter_names(names)

    def ignore_filter(self, *names: str) -> None:
        """From now on, silently drop these wire filters (``"statusid"``, ``"paid"``, ...)."""
        self._ignored = self._ignored | _check_filter_names(names)

    def honour_filter(self, *names: str) -> None:
        """Apply these wire filters again (undoes :meth:`ignore_filter`)."""
        self._ignored = self._ignored - _check_filter_names(names)

    def clear_failures(self) -> None:
        """Forget every pending ``fail_next`` injection."""
        self._faults.clear()

    # ------------------------------------------------------------------ OAuth helpers

    @property
    def token_lifetime(self) -> int:
        return self._tokens.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self._tokens.token_lifetime = int(seconds)

    def issue_tokens(self) -> dict[str, Any]:
        """A fresh valid token response (access_token, refresh_token, expires_in, ...)."""
        return self._tokens.issue()

    def authorization_code(self) -> str:
        """A single-use code for ``grant_type=authorization_code``."""
        return self._tokens.authorization_code()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401."""
        self._tokens.expire_all()

    # ------------------------------------------------------------------ internals

    def _record(
        self,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...],
        body: Any,
        status: int,
        form: dict[str, str] | None,
    ) -> None:
        rec = RecordedRequest(method, path, query, body, status, form)
        with self._requests_lock:
            self.requests.append(rec)

    def _identity(self) -> dict[str, Any]:
        accounts = (self.account_id, *self.extra_accounts)
        memberships = []
        for i, acct in enumerate(accounts):
            memberships.append(
                {
                    "id": 9001 + i,
                    "role": "owner",
                    "unacknowledged_change": False,
                    "fasttrack_token": None,
                    "business": {
                        "id": 7001 + i,
                        "business_uuid": f"00000000-0000-4000-8000-{7001 + i:012d}",
                        "name": "Sandbox Co." if i == 0 else f"Sandbox Co. {i + 1}",
                        "account_id": acct,
                        "date_format": "mm/dd/yyyy",
                        "address": {
                            "street": "1 Sandbox Way",
                            "city": "Toronto",
                            "province": "Ontario",
                            "country": "Canada",
                            "postal_code": "M5V 2T6",
                        },
                        "phone_numbers": [],
                        "business_clients": [],
                    },
                }
            )
        return {
            "id": 4242,
            "identity_id": 4242,
            "identity_uuid": "00000000-0000-4000-8000-000000004242",
            "first_name": "Sandy",
            "last_name": "Box",
            "email": "owner@sandbox.invalid",
            "language": "en",
            "confirmed_at": "2022-01-01T00:00:00Z",
            "created_at": "2022-01-01T00:00:00Z",
            "business_memberships": memberships,
            "roles": [
                {"id": 100 + i, "role": "admin", "systemid": 500 + i, "userid": 1, "accountid": a}
                for i, a in enumerate(accounts)
            ],
        }


def _check_filter_names(names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str):
        raise TypeError("ignore_filters takes a collection of filter names, not one string")
    out = frozenset(names)
    unknown = sorted(n for n in out if n not in FILTER_NAMES)
    if unknown:
        hint = ""
        close = difflib.get_close_matches(unknown[0], FILTER_NAMES, n=3)
        if close:
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)"
        raise ValueError(
            f"unknown filter name(s) {', '.join(repr(u) for u in unknown)}{hint}; "
            f"known wire filter names: {', '.join(sorted(FILTER_NAMES))}"
        )
    return out
