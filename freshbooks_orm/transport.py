"""The transport: one ``Client`` per FreshBooks login, owning auth, retries, timeouts and errors.

Every request of the library goes through ``Client.request``.  The retry policy lives here and
only here:

* GET, PUT and DELETE (PUT carries full field values, so repeating it is harmless) are retried on
  429, 502, 503, 504 and on connection errors and timeouts.
* POST is retried only when it provably never reached the server (the connection could not be
  opened) or on 429 (the server refused it unread).  After a timeout, a dropped connection or a
  5xx it raises ``UncertainWriteError``: FreshBooks has no idempotency keys and a second POST
  could create a second invoice.
* 400, 401, 403, 404 and 422 are never re-sent (a 401 triggers one token refresh, then one retry).
* Waits grow exponentially with full jitter (``backoff * 2**n``, capped at ``max_backoff``), and
  a ``Retry-After`` header is honoured up to ``max_retry_after`` seconds.  A 429 pauses *every*
  thread using this client until the wait is over, so concurrent workers back off together.
* When the retries run out the last error is raised; no further request is sent.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs
import requests

from . import __version__
from .auth import TokenManager, TokenSaver
from .errors import (
    ConfigurationError,
    FreshBooksError,
    ServerError,
    TransportError,
    UncertainWriteError,
    error_for_response,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TIMEOUT",
    "Client",
    "RetryPolicy",
    "configure",
    "default_client",
]

log = logging.getLogger("freshbooks_orm")

DEFAULT_API_URL = "https://api.freshbooks.com"
#: (connect, read) seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ME_PATH = "/auth/api/v1/users/me"

Params = Sequence[tuple[str, str]] | Mapping[str, Any] | None


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry; see the module docstring for *what* is retried."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.max_backoff, self.backoff * (2 ** (retry_number - 1)))
        return random.uniform(ceiling / 2, ceiling)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _connect_failed(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was opened)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc.args[0]) if exc.args else ""
        return "NewConnectionError" in text or "NameResolutionError" in text
    return False


class _Gate:
    """A shared 'not before' time: a 429 seen by one thread holds back every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._not_before = 0.0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._not_before - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(remaining)


class Client:
    """A FreshBooks API login: credentials, account, pooled HTTP session and retry policy.

    Arguments left out come from the environment: ``FRESHBOOKS_ACCESS_TOKEN``,
    ``FRESHBOOKS_ACCOUNT_ID``, ``FRESHBOOKS_API_URL`` (default ``https://api.freshbooks.com``),
    and for refreshing ``FRESHBOOKS_CLIENT_ID``, ``FRESHBOOKS_CLIENT_SECRET``,
    ``FRESHBOOKS_REFRESH_TOKEN``.  Without an account id the client asks ``/users/me`` once.

    >>> client = Client("token", "zDmNq")
    >>> client.account_id
    'zDmNq'
    """

    def __init__(
        self,
        access_token: str | None = None,
        account_id: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        refresh_token: str | None = None,
        token: Mapping[str, Any] | None = None,
        token_saver: TokenSaver | None = None,
        expires_at: float | None = None,
        user_agent: str | None = None,
    ) -> None:
        env = os.environ
        oauth: dict[str, Any] = {
            "client_id": client_id or env.get("FRESHBOOKS_CLIENT_ID"),
            "client_secret": client_secret or env.get("FRESHBOOKS_CLIENT_SECRET"),
            "redirect_uri": redirect_uri or env.get("FRESHBOOKS_REDIRECT_URI"),
            "token_saver": token_saver,
        }
        if token is not None:
            self._tokens = TokenManager.from_token(token, **oauth)
        else:
            self._tokens = TokenManager(
                access_token or env.get("FRESHBOOKS_ACCESS_TOKEN"),
                refresh_token=refresh_token or env.get("FRESHBOOKS_REFRESH_TOKEN"),
                expires_at=expires_at,
                **oauth,
            )
        if not self._tokens.access_token and not self._tokens.can_refresh:
            raise ConfigurationError(
                "no FreshBooks credentials: pass access_token= (or set FRESHBOOKS_ACCESS_TOKEN), "
                "or client_id, client_secret and refresh_token (FRESHBOOKS_CLIENT_ID, "
                "FRESHBOOKS_CLIENT_SECRET, FRESHBOOKS_REFRESH_TOKEN)"
            )
        self._account_id = account_id or env.get("FRESHBOOKS_ACCOUNT_ID") or None
        self.base_url = (base_url or env.get("FRESHBOOKS_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.session = session or requests.Session()
        self.user_agent = user_agent or f"freshbooks_orm/{__version__} (+requests)"
        self._gate = _Gate()
        self._account_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Client account_id={self._account_id!r} base_url={self.base_url!r}>"

    @property
    def tokens(self) -> TokenManager:
        return self._tokens

    # --- account -------------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        """The accounting account id; discovered from ``/users/me`` when not configured."""
        if self._account_id is None:
            with self._account_lock:
                if self._account_id is None:
                    self._account_id = self._discover_account_id()
        return self._account_id

    def _discover_account_id(self) -> str:
        body = self.request("GET", ME_PATH)
        response = body.get("response", {}) if isinstance(body, dict) else {}
        memberships = response.get("business_memberships") or []
        accounts = []
        for membership in memberships:
            business = membership.get("business") or {}
            if business.get("account_id"):
                accounts.append((str(business["account_id"]), str(business.get("name", ""))))
        if len(accounts) == 1:
            log.debug("discovered account id %s", accounts[0][0])
            return accounts[0][0]
        if not accounts:
            raise ConfigurationError(
                "this login belongs to no business with an accounting account; "
                "set FRESHBOOKS_ACCOUNT_ID or pass account_id="
            )
        listing = ", ".join(f"{aid} ({name})" for aid, name in accounts)
        raise ConfigurationError(
            f"this login belongs to {len(accounts)} businesses: {listing}; choose one with "
            "account_id= or FRESHBOOKS_ACCOUNT_ID"
        )

    # --- requests ------------------------------------------------------------------------------

    def url(self, path: str, params: Params = None) -> str:
        """The exact URL a request for ``path`` with ``params`` goes to (no I/O)."""
        prepared = requests.Request("GET", self._absolute(path), params=params).prepare()
        return str(prepared.url)

    def _absolute(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if "{account_id}" in path:
            path = path.replace("{account_id}", self.account_id)
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def request(
        self,
        method: str,
        path: str,
        params: Params = None,
        json: Any = None,
    ) -> Any:
        """Send one API request through the retry policy; return the parsed JSON body.

        ``path`` is below the API root (``/accounting/account/{account_id}/...``; the
        ``{account_id}`` placeholder is filled in).  Errors raise the typed exceptions of
        ``freshbooks_orm.errors``.
        """
        method = method.upper()
        url = self._absolute(path)
        display_path = urlsplit(url).path
        body = None if json is None else jsonlib.dumps(json, default=_json_default).encode()
        retries = 0
        refreshed = False
        while True:
            self._gate.wait()
            token = self._tokens.bearer(self.session, self.base_url, self.timeout)
            headers = {"Authorization": f"Bearer {token}", "User-Agent": self.user_agent}
            if body is not None:
                headers["Content-Type"] = "application/json"
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, data=body, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                reached = not _connect_failed(exc)
                log.debug(
                    "%s %s %s -> %s after %.3fs (retry %d)",
                    method,
                    display_path,
                    _query_text(params),
                    type(exc).__name__,
                    elapsed,
                    retries,
                )
                if method == "POST" and reached:
                    raise UncertainWriteError(
                        f"{type(exc).__name__} after the request may have reached FreshBooks: "
                        "the object may or may not have been created; look it up before "
                        "creating it again",
                        method=method,
                        path=display_path,
                    ) from None
                if retries < self.retry.max_retries:
                    retries += 1
                    time.sleep(self.retry.delay(retries))
                    continue
                raise TransportError(
                    f"{type(exc).__name__}: {_describe(exc)}", method=method, path=display_path
                ) from None

            elapsed = time.monotonic() - started
            status = response.status_code
            log.debug(
                "%s %s %s -> %d in %.3fs (retry %d)",
                method,
                display_path,
                _query_text(params),
                status,
                elapsed,
                retries,
            )
            if status < 400:
                return _parse_body(response, method, display_path)

            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if status == 401 and not refreshed and self._tokens.can_refresh:
                refreshed = True
                self._tokens.refresh(self.session, self.base_url, self.timeout, stale=token)
                continue
            retryable = status in RETRY_STATUSES and (method in IDEMPOTENT_METHODS or status == 429)
            if retryable and retries < self.retry.max_retries:
                retries += 1
                delay = self.retry.delay(retries, retry_after)
                if status == 429:
                    self._gate.hold(delay)
                else:
                    time.sleep(delay)
                continue
            error = _error_from(response, method, display_path, retry_after)
            if method == "POST" and isinstance(error, ServerError):
                raise UncertainWriteError(
                    f"{error.message} — the POST may or may not have created the object; look it "
                    "up before creating it again",
                    status_code=error.status_code,
                    errno=error.errno,
                    field=error.field,
                    errors=error.errors,
                    body=error.body,
                    method=method,
                    path=display_path,
                )
            raise error


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _query_text(params: Params) -> str:
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    return "?" + "&".join(f"{k}={v}" for k, v in items)


def _describe(exc: Exception) -> str:
    # requests' messages hold the URL and pool details, never headers; keep them short.
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def _snippet(response: requests.Response) -> str:
    text = response.content[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split())


def _parse_body(response: requests.Response, method: str, path: str) -> Any:
    if not response.content:
        if response.status_code == 204:
            return {}
        raise TransportError(
            f"empty body with HTTP {response.status_code}",
            status_code=response.status_code,
            method=method,
            path=path,
        )
    try:
        return jsonlib.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise TransportError(
            f"HTTP {response.status_code} with a body that is not JSON: {_snippet(response)!r}",
            status_code=response.status_code,
            body=_snippet(response),
            method=method,
            path=path,
        ) from None


def _error_from(
    response: requests.Response, method: str, path: str, retry_after: float | None
) -> FreshBooksError:
    try:
        body: Any = None
        if response.content:
            body = jsonlib.loads(response.content, parse_float=Decimal)
        snippet = None
    except ValueError:
        body = None
        snippet = _snippet(response) or "(empty)"
    if body is None and snippet is None:
        snippet = "(empty body)"
    return error_for_response(
        response.status_code,
        body,
        method=method,
        path=path,
        retry_after=retry_after,
        snippet=snippet,
    )


# --- the default client ----------

_default_client: Client | None = None
_default_lock = threading.Lock()


def configure(client: Client | None) -> None:
    """Make ``client`` the default for models and querysets that were not given one.

    ``configure(None)`` forgets it; the next use builds one from the environment again.
    """
    global _default_client
    with _default_lock:
        _default_client = client


def default_client() -> Client:
    """The configured client, or one built from the environment on first use."""
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = Client()
        return _default_client
