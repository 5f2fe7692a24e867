"""The transport: one ``Client`` per FreshBooks login, owning auth, retries, timeouts and errors.

Every request of the library goes through ``Client.request``.  The retry policy lives here and
only here:

=============================================  ====================  ==========================
what happened                                  GET, PUT, DELETE      POST
=============================================  ====================  ==========================
no connection (refused, DNS, connect timeout)  retried               retried
read timeout, or connection dropped            retried               ``UncertainWriteError``
429 Too Many Requests                          retried               retried
502, 503, 504                                  retried               ``UncertainWriteError``
500 and other 5xx                              ``ServerError``       ``UncertainWriteError``
401                                            refresh, resend once  refresh, resend once
400, 403, 404, 422 and other 4xx               raised, never resent  raised, never resent
2xx whose body is the errors envelope          raised (a refusal)    raised (a refusal)
3xx redirect                                   never followed:       never followed:
                                               ``TransportError``    ``UncertainWriteError``
=============================================  ====================  ==========================

* PUT carries full field values and DELETE removes, so repeating them is harmless; a DELETE
  answered 404 after a resend (an earlier attempt may have reached FreshBooks) is taken as
  done: the object is gone, as asked.
* A redirect is never followed: requests would carry a POST's body (the OAuth form with its
  secrets, on the token endpoint) to whatever host the ``Location`` names.
* A success status whose body is FreshBooks' errors envelope is a refusal, raised with the
  class its errno gives (nothing was done), never taken for an answer.
  FreshBooks has no idempotency keys, so a POST that may have reached the server is never
  repeated: a second POST could create a second invoice.
* Waits grow exponentially with jitter (a random time between half and all of
  ``backoff * 2**(n-1)``, capped at ``max_backoff``); a ``Retry-After`` header (seconds or an
  HTTP date) replaces that wait, capped at ``max_retry_after``.  A 429 pauses *every* thread
  using this client until the wait is over, so concurrent workers back off together.
* At most ``1 + max_retries`` requests are sent; then the last error is raised.
* The OAuth token endpoint follows the GET column: a repeated refresh cannot create anything,
  at worst it is refused as ``invalid_grant``.
* Every request has a (connect, read) timeout, ``DEFAULT_TIMEOUT`` unless configured.
* Each attempt is logged at DEBUG on the ``freshbooks_orm`` logger (method, path, query, status,
  elapsed time, retry number).  Tokens and secrets are never logged: the bearer token lives
  only in the ``Authorization`` header, and server text in error messages is redacted.
"""

from __future__ import annotations

import datetime
import email.utils
import json as jsonlib
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlsplit

import attrs
import requests
import requests.adapters
import requests.auth
import requests.utils
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.response import HTTPResponse

from .._version import __version__
from ..errors import (
    ConfigurationError,
    FreshBooksError,
    MalformedResponseError,
    TransportError,
    UncertainWriteError,
    body_snippet,
    error_from_http,
    loads,
    redact,
    refused_in,
    short_repr,
)
from .auth import DEFAULT_API_URL, TOKEN_PATH, TokenManager, TokenSaver, api_root
from .tokens import TokenStore

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TIMEOUT",
    "Client",
    "RetryPolicy",
    "configure",
    "default_client",
]

log = logging.getLogger("freshbooks_orm")
T = TypeVar("T")

#: FreshBooks account ids are short strings of letters and digits ("zDmNq").
ACCOUNT_ID = re.compile(r"[A-Za-z0-9]{1,32}", re.ASCII)

#: (connect, read) seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Methods whose repetition is harmless (PUT sends full field values).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ME_PATH = "/auth/api/v1/users/me"
POOL_SIZE = 32

Params = Sequence[tuple[str, str]] | Mapping[str, Any] | None
Timeout = float | tuple[float, float]


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry; the module docstring says *what* is retried.

    >>> RetryPolicy(max_retries=3, backoff=0.5).delay(1, retry_after=600.0)
    60.0
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    backoff: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.max_backoff, self.backoff * (2 ** (retry_number - 1)))
        return random.uniform(ceiling / 2, ceiling)


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _connect_failed(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was opened)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = exc.args[0]
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)  # refused, unreachable, DNS failure
    return False


#: Raised while preparing a request, before anything is sent.
_NEVER_SENT = (
    requests.exceptions.URLRequired,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidProxyURL,
)


def _cut_off(response: requests.Response) -> requests.RequestException | None:
    """The error of an answer that ended before its ``Content-Length``: the connection dropped
    mid-answer.  urllib3 2 raises this itself; urllib3 1.26 (``enforce_content_length`` off)
    hands back the cut body as if it were whole, a 200 with half an invoice or none."""
    expected = response.headers.get("Content-Length")
    raw = response.raw
    if expected is None or not expected.isdigit() or not isinstance(raw, HTTPResponse):
        return None  # only a real urllib3 answer says how many bytes came off the wire
    request = response.request
    if response.status_code in (204, 304) or (request is not None and request.method == "HEAD"):
        return None  # answers that carry no body whatever their Content-Length says
    received = raw.tell()  # bytes read off the wire, before any decoding
    if received >= int(expected):
        return None
    content = response.content
    if content.strip():
        # A whole JSON document is not a cut one: a cassette replays the recorded
        # Content-Length of a body its filters may have rewritten (secrets scrubbed) since.
        try:
            loads(content)
        except ValueError:
            pass
        else:
            return None
    return requests.exceptions.ChunkedEncodingError(
        f"Connection broken: the answer ended after {received} of {expected} bytes"
    )


def _may_succeed_on_retry(exc: requests.RequestException) -> bool:
    """Network trouble worth retrying, as opposed to a misconfiguration (TLS, redirects)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError,
    )


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


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; passing it as ``auth=`` also keeps ~/.netrc out."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


class _NoAuth(requests.auth.AuthBase):
    """For the token endpoint: explicit so that ~/.netrc credentials are never attached."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class Client:
    """A FreshBooks API login: credentials, account, pooled HTTP session and retry policy.

    Arguments left out come from the environment: ``FRESHBOOKS_ACCESS_TOKEN``,
    ``FRESHBOOKS_ACCOUNT_ID``, ``FRESHBOOKS_API_URL`` (default ``https://api.freshbooks.com``),
    and for refreshing ``FRESHBOOKS_CLIENT_ID``, ``FRESHBOOKS_CLIENT_SECRET``,
    ``FRESHBOOKS_REDIRECT_URI``, ``FRESHBOOKS_REFRESH_TOKEN``.  Without an account id the
    client asks ``/users/me`` once, on first use.

    ``token`` takes a whole token response (as from ``exchange_code`` or a ``token_saver``);
    ``token_saver`` receives every refreshed pair before it is used: store it, because the old
    refresh token no longer works.  ``token_store`` (a ``freshbooks_orm.FileTokenStore`` or any
    ``TokenStore``) does both: the token is read from it (no ``access_token`` needed), and every
    refresh is saved to it, shared safely with other processes using the same store.  Keys kept
    beside the token in the store survive refreshes.  ``timeout`` is seconds, or
    ``(connect, read)`` seconds.

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
        timeout: Timeout | None = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        refresh_token: str | None = None,
        token: Mapping[str, Any] | None = None,
        token_saver: TokenSaver | None = None,
        token_store: TokenStore | None = None,
        expires_at: float | None = None,
        user_agent: str | None = None,
    ) -> None:
        env = os.environ
        oauth: dict[str, Any] = {
            "client_id": client_id or env.get("FRESHBOOKS_CLIENT_ID"),
            "client_secret": client_secret or env.get("FRESHBOOKS_CLIENT_SECRET"),
            "redirect_uri": redirect_uri or env.get("FRESHBOOKS_REDIRECT_URI"),
            "token_saver": token_saver,
            "store": token_store,
        }
        if token is None and access_token is None and token_store is not None:
            token = token_store.load()
            if not token:
                raise ConfigurationError(
                    f"{token_store!r} holds no token yet: log in first (freshbooks-orm login), "
                    "or save the token dict of exchange_code() in it"
                )
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
        self._account_id = check_account_id(account_id or env.get("FRESHBOOKS_ACCOUNT_ID"))
        self.base_url = api_root(base_url)
        # None would mean "wait forever"; a request without a timeout is never what one wants.
        self.timeout: Timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self._own_session = session is None
        self.session = session or _pooled_session()
        # requests reads the environment (proxy variables, NO_PROXY, CA bundle variables) on
        # every request of a session that trusts it; a session of our own reads it once per
        # host instead (on the first request), and gets the same settings passed explicitly.
        self._environment: dict[str, tuple[dict[str, str], str | None]] = {}
        if self._own_session:
            self.session.trust_env = False
        self.user_agent = user_agent or f"freshbooks_orm/{__version__} (+requests)"
        self._gate = _Gate()
        self._account_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"<Client account_id={self._account_id!r} base_url={self.base_url!r} "
            f"refreshable={self._tokens.can_refresh}>"
        )

    def __reduce__(self) -> Any:
        raise TypeError(
            "a Client cannot be pickled or copied: it holds credentials, a session and locks; "
            "models and querysets pickle without it (use .using() or save(using=) after)"
        )

    def close(self) -> None:
        """Close the pooled connections (only if this client created the session)."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def tokens(self) -> TokenManager:
        """The token holder (``refresh_count``, ``expires_at``, ``needs_refresh()``)."""
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
        response = body.get("response") if isinstance(body, dict) else None
        memberships = response.get("business_memberships") if isinstance(response, dict) else None
        accounts: dict[str, str] = {}
        for membership in memberships if isinstance(memberships, list) else []:
            business = membership.get("business") if isinstance(membership, dict) else None
            if isinstance(business, dict) and business.get("account_id"):
                aid = business["account_id"]
                if not isinstance(aid, str) or not ACCOUNT_ID.fullmatch(aid):
                    raise MalformedResponseError(
                        f"{ME_PATH} named an account id that is not 1 to 32 letters and digits: "
                        f"{short_repr(aid)}",
                        method="GET",
                        path=ME_PATH,
                        body=short_repr(business),
                    )
                accounts.setdefault(aid, str(business.get("name") or ""))
        if len(accounts) == 1:
            (only,) = accounts
            log.debug("discovered account id %s", only)
            return only
        if not accounts:
            raise ConfigurationError(
                "this login belongs to no business with an accounting account; "
                "set FRESHBOOKS_ACCOUNT_ID or pass account_id="
            )
        listing = ", ".join(f"{aid} ({name})" if name else aid for aid, name in accounts.items())
        raise ConfigurationError(
            f"this login belongs to {len(accounts)} businesses: {listing}; choose one with "
            "account_id= or FRESHBOOKS_ACCOUNT_ID"
        )

    # --- requests ------------------------------------------------------------------------------

    def url(self, path: str, params: Params = None) -> str:
        """The exact URL a request for ``path`` with ``params`` goes to (no I/O once the
        account id is known)."""
        prepared = requests.Request("GET", self._absolute(path), params=params).prepare()
        return str(prepared.url)

    def _absolute(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if "{account_id}" in path:
            path = path.replace("{account_id}", quote(self.account_id, safe=""))
        return self.base_url + ("" if path.startswith("/") else "/") + path

    @overload
    def request(
        self,
        method: str,
        path: str,
        params: Params = None,
        json: Any = None,
        *,
        expect: None = None,
    ) -> Any: ...

    @overload
    def request(
        self,
        method: str,
        path: str,
        params: Params = None,
        json: Any = None,
        *,
        expect: Callable[[Any], T],
    ) -> T: ...

    def request(
        self,
        method: str,
        path: str,
        params: Params = None,
        json: Any = None,
        *,
        expect: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Send one API request through the retry policy; return the parsed JSON body.

        ``path`` is below the API root (``/accounting/account/{account_id}/...``; the
        ``{account_id}`` placeholder is filled in).  Errors raise the typed exceptions of
        ``freshbooks_orm.errors``, each carrying ``method`` and ``path``.

        ``expect`` reads the parsed answer (``spec.page``, ``spec.required_result``, ...) and
        its result is returned instead; when it raises ``MalformedResponseError`` the error gets
        the status, method, path and a short snippet of the body (an ``UncertainWriteError``
        for a POST, whose object was probably created).
        """
        method = method.upper()
        url = self._absolute(path)
        display_path = urlsplit(url).path
        body = None if json is None else jsonlib.dumps(json, default=_json_default).encode()
        response, attempts, earlier_reached = self._send(
            method,
            url,
            display_path,
            params=params,
            data=body,
            content_type="application/json" if body is not None else None,
            authorize=True,
            replay_safe=method in IDEMPOTENT_METHODS,
        )
        status = response.status_code
        if 300 <= status < 400:
            self._redirected(response, method, display_path)
        if method == "DELETE" and status == 404 and earlier_reached:
            # An earlier attempt may have reached FreshBooks and deleted it before its answer
            # was lost: the object is gone, which is what was asked.
            log.debug("DELETE %s -> 404 after a resend: deleted by an earlier attempt", path)
            return {} if expect is None else self._read(expect, {}, response, method, path)
        if status < 400:
            parsed = self._parse_body(response, method, display_path)
            if refused_in(parsed):  # a 2xx that carries FreshBooks' errors envelope
                raise self._refusal(response, method, display_path, attempts)
            if expect is None:
                return parsed
            return self._read(expect, parsed, response, method, display_path)
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        error = error_from_http(
            status,
            response.content,
            method=method,
            path=display_path,
            retry_after=retry_after,
            secrets=self._tokens.secrets(),
        )
        if attempts > 1:
            _amend(error, f"(gave up after {attempts} attempts)")
        if method == "POST" and status >= 500:
            raise error.recast(
                UncertainWriteError,
                f"{error.message}; the POST may or may not have created the object: look it "
                "up before creating it again",
                status_code=status,
                method=method,
                path=display_path,
            )
        raise error

    def _redirected(self, response: requests.Response, method: str, path: str) -> None:
        """A 3xx answer is never followed (a redirect could carry the request body, secrets
        included, to another host): raise it, as a possibly applied write for a POST."""
        target = urlsplit(response.headers.get("Location") or "").hostname or "another location"
        message = (
            f"answered HTTP {response.status_code}, a redirect to {target}, which is not "
            "followed (FreshBooks' API does not redirect: check the API URL)"
        )
        if method == "POST":
            raise UncertainWriteError(
                f"{message}; the object may or may not have been created: look it up before "
                "creating it again",
                status_code=response.status_code,
                method=method,
                path=path,
            )
        raise TransportError(message, status_code=response.status_code, method=method, path=path)

    def _refusal(
        self, response: requests.Response, method: str, path: str, attempts: int
    ) -> FreshBooksError:
        """The typed error of a 2xx answer whose body is an errors envelope (nothing done)."""
        error = error_from_http(
            response.status_code,
            response.content,
            method=method,
            path=path,
            secrets=self._tokens.secrets(),
            refusal=True,
        )
        if attempts > 1:
            _amend(error, f"(after {attempts} attempts)")
        return error

    def _read(
        self,
        expect: Callable[[Any], T],
        body: Any,
        response: requests.Response,
        method: str,
        path: str,
    ) -> T:
        problem: MalformedResponseError | None = None
        try:
            return expect(body)
        except MalformedResponseError as exc:
            problem = exc
        except RecursionError:  # a check walked into nesting no answer has
            problem = MalformedResponseError("an answer nested too deeply")
        snippet = redact(body_snippet(response.content), self._tokens.secrets())
        message = f"answered {problem.message}: {snippet!r}"
        if method == "POST":
            message += (
                "; the object was probably created but its answer could not be read: look it up "
                "before creating it again"
            )
        raise problem.recast(
            UncertainWriteError if method == "POST" else MalformedResponseError,
            message,
            status_code=response.status_code,
            method=method,
            path=path,
            body=snippet,
        ) from None

    def _post_token(self, form: str) -> requests.Response:
        """Send a form to the OAuth token endpoint (the ``TokenPoster`` of ``self.tokens``)."""
        response, _, _ = self._send(
            "POST",
            self.base_url + TOKEN_PATH,
            TOKEN_PATH,
            data=form.encode(),
            content_type="application/x-www-form-urlencoded",
            authorize=False,
            replay_safe=True,  # a repeated refresh creates nothing; at worst: invalid_grant
        )
        return response

    def _send(
        self,
        method: str,
        url: str,
        display_path: str,
        *,
        params: Params = None,
        data: bytes | None = None,
        content_type: str | None = None,
        authorize: bool,
        replay_safe: bool,
    ) -> tuple[requests.Response, int, bool]:
        """Send through the retry policy; return the final response, the attempts made, and
        whether an earlier attempt may have reached the server (a read timeout, a dropped
        connection or a 5xx before the final answer).

        Raises ``TransportError`` (or ``UncertainWriteError`` when not ``replay_safe``) for
        failures that produced no response.  Error statuses are returned, not raised.  Redirects
        are returned, never followed.
        """
        retries = 0
        refreshed = False
        earlier_reached = False
        query = _query_text(params)
        while True:
            self._gate.wait()
            token: str | None = None
            auth: requests.auth.AuthBase = _NoAuth()
            if authorize:
                token = self._tokens.bearer(self._post_token)
                auth = _BearerAuth(token)
            headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            proxies, verify = self._environment_for(url)
            started = time.monotonic()
            failure: Exception | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=auth,
                    timeout=self.timeout,
                    proxies=proxies,
                    verify=verify,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = exc
            except (ValueError, UnicodeError) as exc:  # http.client refusing a header or URL
                failure = exc
            else:
                failure = _cut_off(response)
            if failure is not None:
                # Decided and raised here, outside the except block: the requests exception
                # holds the prepared request, whose headers carry the token, and it must not
                # become the error's __context__.  A copy without it is kept as __cause__.
                error = self._network_failure(
                    failure, method, display_path, query, started, retries, replay_safe
                )
                cause = _without_request(failure, self._tokens.secrets())
                reached = not (
                    isinstance(failure, requests.RequestException) and _connect_failed(failure)
                )
                del failure
                if error is None:
                    retries += 1
                    earlier_reached = earlier_reached or reached
                    self._pause(self.retry.delay(retries), retries, type(cause).__name__)
                    continue
                raise error from cause

            elapsed = time.monotonic() - started
            status = response.status_code
            log.debug(
                "%s %s%s -> %d in %.3fs (retry %d)",
                *(method, display_path, query, status, elapsed, retries),
            )
            if status == 401 and authorize and not refreshed and self._tokens.can_renew:
                refreshed = True  # one refresh, one resend; a second 401 is raised
                self._tokens.refresh(self._post_token, stale=token)
                continue
            if (
                status in RETRY_STATUSES
                and (replay_safe or status == 429)
                and retries < self.retry.max_retries
            ):
                retries += 1
                earlier_reached = earlier_reached or status != 429
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(retries, retry_after)
                if status == 429:
                    self._gate.hold(delay)  # every thread of this client waits it out
                    log.debug("HTTP 429: holding every request for %.3fs", delay)
                else:
                    self._pause(delay, retries, f"HTTP {status}")
                continue
            return response, retries + 1, earlier_reached

    def _network_failure(
        self,
        exc: Exception,
        method: str,
        display_path: str,
        query: str,
        started: float,
        retries: int,
        replay_safe: bool,
    ) -> FreshBooksError | None:
        """The error a failed send raises, or None when it is worth another attempt."""
        elapsed = time.monotonic() - started
        outcome = type(exc).__name__
        log.debug(
            "%s %s%s -> %s after %.3fs (retry %d)",
            *(method, display_path, query, outcome, elapsed, retries),
        )
        detail = redact(_describe(exc), self._tokens.secrets())
        if not isinstance(exc, requests.RequestException) or isinstance(exc, _NEVER_SENT):
            return TransportError(f"{outcome}: {detail}", method=method, path=display_path)
        if not replay_safe and not _connect_failed(exc):
            return UncertainWriteError(
                f"{outcome} after the request may have reached FreshBooks: the object "
                "may or may not have been created; look it up before creating it again",
                method=method,
                path=display_path,
            )
        if not _may_succeed_on_retry(exc):
            return TransportError(f"{outcome}: {detail}", method=method, path=display_path)
        if retries < self.retry.max_retries:
            return None
        return TransportError(
            f"{outcome} (gave up after {retries + 1} attempts): {detail}",
            method=method,
            path=display_path,
        )

    def _environment_for(self, url: str) -> tuple[dict[str, str] | None, str | None]:
        """The proxies and CA bundle the environment gives ``url``'s host, read once per host
        (what a default requests session reads on every request); nothing for a session the
        caller passed in, which keeps its own ``trust_env`` behaviour."""
        if not self._own_session:
            return None, None
        scheme, _, rest = url.partition("://")
        key = f"{scheme}://{rest.split('/', 1)[0]}"
        settings = self._environment.get(key)
        if settings is None:
            proxies = dict(requests.utils.get_environ_proxies(url))  # honours NO_PROXY
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            settings = self._environment.setdefault(key, (proxies, bundle or None))
        return settings[0] or None, settings[1]

    def _pause(self, delay: float, retry_number: int, reason: str) -> None:
        log.debug(
            "%s: retry %d of %d in %.3fs", reason, retry_number, self.retry.max_retries, delay
        )
        time.sleep(delay)

    def _parse_body(self, response: requests.Response, method: str, path: str) -> Any:
        content = response.content
        if not content.strip():
            if response.status_code == 204 or method in ("HEAD", "DELETE"):
                return {}
            return self._unreadable(response, method, path, "an empty body")
        try:
            return loads(content)
        except ValueError:  # not JSON: HTML, truncated, garbage, NaN, nested too deeply
            pass  # raised below, outside this block: a JSONDecodeError holds the whole body
        snippet = redact(body_snippet(content), self._tokens.secrets())
        return self._unreadable(response, method, path, f"a body that is not JSON: {snippet!r}")

    def _unreadable(self, response: requests.Response, method: str, path: str, what: str) -> Any:
        status = response.status_code
        if method == "POST":
            raise UncertainWriteError(
                f"the POST was answered with {what}; the object was probably created but its "
                "answer could not be read: look it up before creating it again",
                status_code=status,
                body=what,
                method=method,
                path=path,
            )
        raise TransportError(
            f"answered with {what}", status_code=status, body=what, method=method, path=path
        )


def check_account_id(value: Any) -> str | None:
    """A configured account id, stripped; ``ConfigurationError`` unless letters and digits.

    It becomes part of every path, so ``a?b#c`` must fail here rather than request
    ``/accounting/account/a`` and report that an invoice does not exist.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"the account id must be a string, not {type(value).__name__}")
    cleaned = value.strip()
    if not cleaned:
        return None
    if not ACCOUNT_ID.fullmatch(cleaned):
        raise ConfigurationError(
            f"the account id {short_repr(cleaned)} is not an account id: FreshBooks account ids "
            "are 1 to 32 letters and digits, like 'zDmNq' (see freshbooks-orm whoami, or "
            "business_memberships[].business.account_id of /auth/api/v1/users/me)"
        )
    return cleaned


def _pooled_session() -> requests.Session:
    """A keep-alive session whose pool holds enough connections for a few dozen threads."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _amend(error: FreshBooksError, note: str) -> None:
    error.message = f"{error.message} {note}"
    error.args = (error.message,)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _query_text(params: Params) -> str:
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    return "?" + "&".join(f"{k}={v}" for k, v in items)


def _without_request(exc: Exception, secrets: Sequence[str | None]) -> Exception:
    """A copy of ``exc`` that keeps its type and (redacted) text but no request or response.

    Chained to the raised error as its ``__cause__``, it tells what happened; the original would
    carry the prepared request with the ``Authorization`` header, or a token endpoint's form.
    """
    text = redact(_describe(exc), secrets)
    try:
        copy = type(exc)(text)
    except Exception:  # an exception class that wants other arguments
        copy = Exception(f"{type(exc).__name__}: {text}")
    if isinstance(copy, requests.RequestException):
        copy.request = None
        copy.response = None
    return copy


def _describe(exc: Exception) -> str:
    """The reason a request failed, short: requests' own message is mostly pool details and
    the URL, with the cause ("Connection refused") at the end, where a cut would lose it."""
    reason: Any = exc.args[0] if isinstance(exc, requests.RequestException) and exc.args else exc
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if isinstance(reason, NewConnectionError):
        text = str(reason).split(": ", 1)[-1]  # drop "<HTTPConnection object at 0x...>: "
    elif isinstance(reason, BaseException) and len(reason.args) > 1:  # ProtocolError(msg, cause)
        text = f"{reason.args[0]} {reason.args[1]}"
    else:
        text = str(reason)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:100] + " ... " + text[-95:]


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
