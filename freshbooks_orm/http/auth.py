"""OAuth2 for FreshBooks: the authorization URL, the code exchange, a token holder that refreshes.

FreshBooks access tokens live 12 hours; refresh tokens are single-use.  So:

* the access token is refreshed shortly *before* it expires (``created_at + expires_in`` minus
  a margin), and once more if the server answers 401 anyway;
* every refresh hands the new pair to ``token_saver`` *before* the new access token is used,
  so a crash after a refresh never strands the only valid refresh token in memory;
* a lock makes concurrent threads that find the same stale token share a single refresh;
* with a token store (``freshbooks_orm.tokens``), several *processes* share one refresh chain:
  the store is re-read before refreshing (another process may already have refreshed) and after
  an ``invalid_grant``, the refresh happens under the store's cross-process lock, and the new pair
  is saved to the store before it is used.

``oauthlib`` (the core of requests-oauthlib) builds the request bodies and validates the token
responses.  The POSTs themselves go through the client's pooled session and retry policy:
requests-oauthlib's ``OAuth2Session`` would refuse the ``http://`` token URL of a loopback
sandbox unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` were set.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    FreshBooksError,
    TransportError,
    body_snippet,
    error_from_http,
    loads,
    redact,
    remember_secrets,
    short_repr,
)
from .tokens import LockingTokenStore, TokenStore

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_API_URL",
    "REFRESH_MARGIN",
    "TOKEN_PATH",
    "TokenManager",
    "TokenPoster",
    "TokenSaver",
    "api_root",
    "authorization_url",
    "clean_secret",
    "exchange_code",
    "is_loopback",
]

log = logging.getLogger("freshbooks_orm")

DEFAULT_API_URL = "https://api.freshbooks.com"
AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
TOKEN_PATH = "/auth/oauth/token"


def api_root(value: str | None) -> str:
    """The API root to send to: ``value``, else ``FRESHBOOKS_API_URL``, else FreshBooks' own;
    an http(s) URL with a host and nothing else (``ConfigurationError`` otherwise).  A user
    name or password in it is refused: it would show wherever the URL does."""
    root = (value or os.environ.get("FRESHBOOKS_API_URL") or DEFAULT_API_URL).rstrip("/")
    try:
        parts = urlsplit(root)
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not a number
    except ValueError:
        host = None
        parts = urlsplit("")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            "the API URL carries a user name or password, which would show wherever the URL "
            f"does: give it as {parts.scheme or 'https'}://{parts.hostname or 'host'}/... and "
            "pass a requests session (Client(session=...)) for an authenticating proxy"
        )
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise ConfigurationError(
            f"the API URL {short_repr(root)} is not an http(s) URL with a host (such as "
            f"{DEFAULT_API_URL}, or http://127.0.0.1:8000 for a local sandbox)"
        )
    return root


#: Refresh this many seconds before the token's stated expiry (at most half its lifetime), so no
#: request carries a token that expires in flight.
REFRESH_MARGIN = 300.0

#: Called with the new token dict after every refresh, before the new token is used.
TokenSaver = Callable[[dict[str, Any]], None]
#: Sends a form-encoded body to the token endpoint and returns the final response.
TokenPoster = Callable[[str], requests.Response]


def authorization_url(
    client_id: str,
    redirect_uri: str,
    *,
    scopes: list[str] | None = None,
    state: str | None = None,
    authorize_url: str = AUTHORIZE_URL,
) -> str:
    """Return the URL to send a user to so they grant this app access.

    >>> authorization_url("abc", "https://example.com/cb").split("?")[1]
    'response_type=code&client_id=abc&redirect_uri=https%3A%2F%2Fexample.com%2Fcb'
    """
    parts = urlsplit(authorize_url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(authorize_url)):
        raise ValueError(
            f"the authorization URL must use https (http only on a loopback address such as a "
            f"sandbox), got {authorize_url!r}"
        )
    pairs = [("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri)]
    if scopes:
        pairs.append(("scope", " ".join(scopes)))
    if state is not None:
        pairs.append(("state", state))
    return (
        f"{authorize_url}{'&' if parts.query else '?'}{urlencode(pairs, safe='~', quote_via=quote)}"
    )


def clean_secret(
    value: Any, what: str, error: type[FreshBooksError] = ConfigurationError
) -> str | None:
    """``value`` stripped of surrounding whitespace, registered as a secret; None when empty.

    A token goes into an HTTP header, where a newline or a space inside it would make
    ``http.client`` raise an error quoting the whole header.  So anything but visible ASCII
    inside the value raises ``error`` -- whose message never contains the value.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise error(f"the {what} must be a string, not {type(value).__name__}")
    cleaned = value.strip()
    if not cleaned:
        return None
    bad = [c for c in cleaned if not "!" <= c <= "~"]
    if bad:
        remember_secrets(cleaned, value)
        kind = "whitespace" if any(c.isspace() for c in bad) else "non-ASCII or control characters"
        raise error(
            f"the {what} contains {kind} inside it ({len(cleaned)} characters, not shown); "
            "check how it was copied or stored"
        )
    remember_secrets(cleaned)
    return cleaned


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.1, ::1 or localhost)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host in ("localhost", "127.0.0.1", "::1")


def exchange_code(
    code: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    base_url: str | None = None,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (10.0, 60.0),
) -> dict[str, Any]:
    """Exchange an authorization code for a token dict (``access_token``, ``refresh_token``, ...).

    Pass the result to ``Client(token=...)`` together with ``client_id``, ``client_secret`` and
    a ``token_saver`` so the client can refresh it, and store it yourself: it holds the only
    valid refresh token.  The code is single-use, so the request is sent once, never retried.
    ``base_url`` defaults to ``FRESHBOOKS_API_URL`` or ``https://api.freshbooks.com``.
    """
    code = clean_secret(code, "authorization code") or ""
    client_secret = clean_secret(client_secret, "client secret") or ""
    from oauthlib.oauth2 import WebApplicationClient  # only some paths need it

    body = WebApplicationClient(client_id).prepare_request_body(
        code=code,
        redirect_uri=redirect_uri,
        client_secret=client_secret,
        include_client_id=True,
    )
    root = api_root(base_url)
    own_session = session is None
    http = session or requests.Session()
    failure: requests.RequestException | None = None
    try:
        response = http.post(
            root + TOKEN_PATH,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            timeout=timeout,
            allow_redirects=False,  # a redirect would carry the code and secret elsewhere
        )
    except requests.RequestException as exc:
        failure = exc  # raised below, outside this block: exc.request holds the code and secret
    finally:
        if own_session:
            http.close()
    if failure is not None:
        raise TransportError(
            f"the code exchange failed: {type(failure).__name__}", method="POST", path=TOKEN_PATH
        )
    return token_from_response(response, "the code exchange", secrets=(client_secret, code))


def token_from_response(
    response: requests.Response, what: str, *, secrets: tuple[str | None, ...] = ()
) -> dict[str, Any]:
    """Return the validated token dict of a token-endpoint answer, or raise a typed error.

    An OAuth refusal (``{"error": "invalid_grant", ...}``) raises ``AuthenticationError``; a
    429 or 5xx raises ``RateLimitError``/``ServerError``; a 2xx that is not a token raises
    ``AuthenticationError`` with a snippet of what came back.
    """
    status = response.status_code
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location") or "").hostname or "another location"
        raise AuthenticationError(
            f"{what} was answered HTTP {status}, a redirect to {target}, which is not followed "
            "(it would carry the OAuth secrets there): check the API URL",
            status_code=status,
            method="POST",
            path=TOKEN_PATH,
        )
    if status >= 400:
        error = error_from_http(
            status, response.content, method="POST", path=TOKEN_PATH, secrets=secrets
        )
        if status >= 500 or status == 429:
            raise error
        hint = ""
        if _is_invalid_grant(error):
            hint = (
                " (a refresh token works once: if the newest one was not saved, authorize the "
                "app again)"
                if "refresh" in what
                else " (an authorization code works once and expires quickly)"
            )
        raise error.recast(
            AuthenticationError,
            f"{what} was refused: {error.message}{hint}",
            status_code=status,
            field=None,
            method="POST",
            path=TOKEN_PATH,
        )
    from oauthlib.oauth2 import OAuth2Error, WebApplicationClient  # only some paths need it

    token: Mapping[str, Any] | None = None
    try:
        if isinstance(loads(response.content), dict):  # oauthlib assumes an object
            token = WebApplicationClient("").parse_request_body_response(response.text)
    except (OAuth2Error, ValueError, TypeError, AttributeError, OverflowError, Warning):
        pass  # raised below, outside this block: a JSONDecodeError keeps the whole body
    if token is None:
        snippet = redact(body_snippet(response.content), secrets) or "(empty body)"
        raise AuthenticationError(
            f"{what} answered something that is not a token: {snippet!r}",
            status_code=status,
            body=snippet,
            method="POST",
            path=TOKEN_PATH,
        )
    result = dict(token)
    for key in ("access_token", "refresh_token"):
        result[key] = clean_secret(result.get(key), f"{key.replace('_', ' ')} sent by the server",
                                   AuthenticationError)  # fmt: skip
    return result


#: Keys of a stored token that describe the old token and must not outlive a refresh; every
#: other key kept beside the token in a store (``client_id``, ...) is carried over.
_EXPIRY_KEYS = frozenset({"access_token", "expires_in", "expires_at", "created_at"})


class TokenManager:
    """Holds the current token pair and refreshes it once, however many threads ask at once.

    With a ``store`` the pair is shared with other processes (see the module docstring).
    ``repr`` shows whether it can refresh and when the token expires, never a token.
    """

    def __init__(
        self,
        access_token: str | None,
        *,
        refresh_token: str | None = None,
        expires_at: float | None = None,
        lifetime: float | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_saver: TokenSaver | None = None,
        refresh_margin: float = REFRESH_MARGIN,
        store: TokenStore | None = None,
    ) -> None:
        self._access_token = clean_secret(access_token, "access token")
        self._refresh_token = clean_secret(refresh_token, "refresh token")
        client_secret = clean_secret(client_secret, "client secret")
        self.expires_at = expires_at
        self.lifetime = lifetime
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.token_saver = token_saver
        self.refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self.refresh_count = 0
        self.store = store
        self._stored: dict[str, Any] = {}  # the last token read from or written to the store
        self._refusal: str | None = None

    def __repr__(self) -> str:
        return (
            f"<TokenManager refreshable={self.can_refresh} expires_at={self.expires_at!r} "
            f"refreshes={self.refresh_count}>"
        )

    def __reduce__(self) -> Any:
        raise TypeError("a TokenManager cannot be pickled or copied: it holds credentials")

    @classmethod
    def from_token(cls, token: Mapping[str, Any], **kw: Any) -> TokenManager:
        """Build from a token response dict (``access_token``, ``refresh_token``, ...)."""
        if not isinstance(token, Mapping):
            raise ConfigurationError(
                f"token= takes a token dict (access_token, refresh_token, ...), not "
                f"{type(token).__name__}"
            )
        expires_at, lifetime = _expiry(token)
        manager = cls(
            token.get("access_token"),
            refresh_token=token.get("refresh_token"),
            expires_at=expires_at,
            lifetime=lifetime,
            **kw,
        )
        if manager.store is not None:
            manager._stored = dict(token)
        return manager

    def forbid_refresh(self, reason: str) -> None:
        """Refuse every refresh from now on with ``AuthenticationError(reason)``, before anything
        is sent (the command line does this when it has nowhere to save a new token)."""
        self._refusal = reason

    @property
    def can_refresh(self) -> bool:
        return bool(self._refresh_token and self.client_id and self._client_secret)

    @property
    def can_renew(self) -> bool:
        """Whether a stale token can be replaced: by a refresh, or from the store."""
        return self.can_refresh or self.store is not None

    @property
    def access_token(self) -> str | None:
        return self._access_token

    def secrets(self) -> tuple[str | None, ...]:
        """Every credential this manager holds, for redacting text that may echo one."""
        return (self._access_token, self._refresh_token, self._client_secret)

    @property
    def margin(self) -> float:
        """Seconds before ``expires_at`` at which the token counts as expired."""
        if self.lifetime is None:
            return self.refresh_margin
        return min(self.refresh_margin, self.lifetime / 2)

    def needs_refresh(self, now: float | None = None) -> bool:
        if not self._access_token:
            return True
        if self.expires_at is None:
            return False
        return (now if now is not None else time.time()) >= self.expires_at - self.margin

    def bearer(self, post: TokenPoster) -> str:
        """Return a token that is valid now, refreshing first when it is about to expire."""
        token = self._access_token
        if self.can_renew and self.needs_refresh():
            token = self.refresh(post, stale=token)
        if not token:
            raise ConfigurationError(
                "no access token and no way to get one: set FRESHBOOKS_ACCESS_TOKEN, or give "
                "client_id, client_secret and refresh_token"
            )
        return token

    def refresh(self, post: TokenPoster, *, stale: str | None) -> str:
        """Refresh the pair unless another thread or process already replaced ``stale``.

        Returns the access token to use.  With a store, the refresh runs under the store's
        lock, after re-reading it: a token another process saved meanwhile is adopted instead
        of spending a refresh token that is already dead; an ``invalid_grant`` answer also
        re-reads the store before it is raised.  The new pair goes to the store and then to
        ``token_saver`` before this returns; if either raises, the pair is still kept in memory
        (the old refresh token is already spent) and the exception propagates.
        """
        with self._lock:
            current = self._access_token
            if current and current != stale:
                return current  # another thread refreshed while we waited for the lock
            with self._store_lock():
                if self._reload(stale):
                    return str(self._access_token)  # another process refreshed
                if self._refusal is not None:
                    raise AuthenticationError(self._refusal)
                if not self.can_refresh:
                    raise AuthenticationError(
                        "the access token was refused and cannot be refreshed: give client_id, "
                        "client_secret and refresh_token to refresh automatically"
                    )
                assert self.client_id and self._client_secret and self._refresh_token
                spent = self._refresh_token
                from oauthlib.oauth2 import WebApplicationClient  # only refreshing needs it

                body = WebApplicationClient(self.client_id).prepare_refresh_body(
                    refresh_token=spent,
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    redirect_uri=self.redirect_uri,
                )
                try:
                    token = token_from_response(
                        post(body), "the token refresh", secrets=self.secrets()
                    )
                except AuthenticationError as exc:
                    # Someone without our lock may have spent it and saved the new pair.
                    if _is_invalid_grant(exc) and self._reload(stale, spent=spent):
                        return str(self._access_token)
                    raise
                self.refresh_count += 1
                try:
                    # The old refresh token is now dead: persist the new pair before anything else.
                    if self.store is not None:
                        carried = {k: v for k, v in self._stored.items() if k not in _EXPIRY_KEYS}
                        merged = {**carried, **token}
                        self.store.save(merged)
                        self._stored = merged
                    if self.token_saver is not None:
                        self.token_saver(dict(token))
                finally:
                    self._adopt(token)
            log.debug("refreshed the access token (refresh %d)", self.refresh_count)
            return str(self._access_token)

    def _store_lock(self) -> AbstractContextManager[None]:
        if isinstance(self.store, LockingTokenStore):
            return self.store.lock()
        return contextlib.nullcontext()

    def _reload(self, stale: str | None, *, spent: str | None = None) -> bool:
        """Adopt a newer token from the store; True when it is one to use now.

        A stored token newer than ours (another access token, or after an ``invalid_grant``
        another refresh token than ``spent``) replaces ours, refresh token included, so that a
        refresh still needed uses the live refresh token.
        """
        if self.store is None:
            return False
        stored = self.store.load()
        if not stored or not stored.get("access_token"):
            return False
        if spent is not None:
            newer = stored.get("refresh_token") != spent
        else:
            newer = (stored.get("access_token"), stored.get("refresh_token")) != (
                self._access_token,
                self._refresh_token,
            )
        if not newer:
            return False
        self._stored = dict(stored)
        self._adopt(stored, trust_clock=True)
        log.debug("adopted the token another process saved in the store")
        return self._access_token != stale and not self.needs_refresh()

    def _adopt(self, token: Mapping[str, Any], *, trust_clock: bool = False) -> None:
        self._access_token = clean_secret(token["access_token"], "stored access token")
        self._refresh_token = (
            clean_secret(token.get("refresh_token"), "stored refresh token") or self._refresh_token
        )
        self.expires_at, self.lifetime = _expiry(token)
        if not trust_clock and self.expires_at is not None and self.needs_refresh():
            # A token fresh from the server cannot be stale: our clock disagrees with the
            # server's created_at.  Count its lifetime from now instead of refreshing forever.
            log.debug("token created_at disagrees with the local clock; timing it locally")
            self.expires_at = time.time() + (self.lifetime or 0.0)


def _is_invalid_grant(error: FreshBooksError) -> bool:
    return any(e.get("error") == "invalid_grant" for e in error.errors)


def _expiry(token: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """``(expires_at, lifetime)`` of a token dict, from ``created_at + expires_in`` when present.

    A dict that went through ``token_saver`` also carries oauthlib's ``expires_at``, used when
    ``created_at`` is missing; a bare ``expires_in`` counts from now.
    """
    lifetime = _seconds(token.get("expires_in"))
    created = _seconds(token.get("created_at"))
    if lifetime is not None and created is not None:
        return created + lifetime, lifetime
    expires_at = _seconds(token.get("expires_at"))
    if expires_at is not None:
        return expires_at, lifetime
    if lifetime is not None:
        return time.time() + lifetime, lifetime
    return None, None


def _seconds(value: Any) -> float | None:
    """A finite number of seconds, or None for a missing or unreadable one (then the token is
    timed by the server's 401 instead)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None
