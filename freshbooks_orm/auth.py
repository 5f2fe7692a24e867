"""OAuth2 for FreshBooks: the authorization URL, the code exchange, a token holder that refreshes.

FreshBooks access tokens live 12 hours; refresh tokens are single-use, so every refresh hands the
new pair to ``token_saver`` *before* the new access token is used: a crash after the refresh then
never strands the only valid refresh token in memory.  ``oauthlib`` builds the request bodies and
validates the token responses; the POSTs go through the client's own pooled session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

from .errors import AuthenticationError, ConfigurationError, TransportError

__all__ = [
    "AUTHORIZE_URL",
    "TOKEN_PATH",
    "TokenManager",
    "authorization_url",
    "exchange_code",
]

log = logging.getLogger("freshbooks_orm")

AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
TOKEN_PATH = "/auth/oauth/token"
#: Refresh this many seconds before the token's stated expiry, so no request carries a token
#: that expires in flight.
REFRESH_MARGIN = 300.0

TokenSaver = Callable[[dict[str, Any]], None]


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
    return str(
        WebApplicationClient(client_id).prepare_request_uri(
            authorize_url, redirect_uri=redirect_uri, scope=scopes, state=state
        )
    )


def _token_request(session: requests.Session, url: str, body: str, timeout: Any) -> dict[str, Any]:
    """POST a token request; return the validated token dict or raise AuthenticationError."""
    try:
        response = session.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TransportError(
            f"token request failed: {type(exc).__name__}", method="POST", path=TOKEN_PATH
        ) from None
    try:
        token = WebApplicationClient("").parse_request_body_response(response.text)
    except OAuth2Error as exc:
        # exc.description is the server's error_description; it never holds the secret we sent
        raise AuthenticationError(
            f"token request refused: {exc.error}: {exc.description or ''}".strip(),
            status_code=response.status_code,
            method="POST",
            path=TOKEN_PATH,
        ) from None
    except ValueError:
        raise AuthenticationError(
            f"token endpoint answered something that is not a token (HTTP {response.status_code})",
            status_code=response.status_code,
            method="POST",
            path=TOKEN_PATH,
        ) from None
    return dict(token)


def exchange_code(
    code: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    base_url: str = "https://api.freshbooks.com",
    session: requests.Session | None = None,
    timeout: Any = 30,
) -> dict[str, Any]:
    """Exchange an authorization code for a token dict (``access_token``, ``refresh_token``, ...).

    Pass the result to ``Client(token=...)`` together with ``client_id``/``client_secret`` and
    a ``token_saver`` so the client can refresh it.
    """
    body = WebApplicationClient(client_id).prepare_request_body(
        code=code,
        redirect_uri=redirect_uri,
        client_secret=client_secret,
        include_client_id=True,
    )
    return _token_request(
        session or requests.Session(), base_url.rstrip("/") + TOKEN_PATH, body, timeout
    )


class TokenManager:
    """Holds the current token pair and refreshes it once, however many threads ask at once."""

    def __init__(
        self,
        access_token: str | None,
        *,
        refresh_token: str | None = None,
        expires_at: float | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_saver: TokenSaver | None = None,
    ) -> None:
        self._access_token = access_token
        self._refresh_token = refresh_token
        self.expires_at = expires_at
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.token_saver = token_saver
        self._lock = threading.Lock()
        self.refresh_count = 0

    def __repr__(self) -> str:
        return (
            f"<TokenManager refreshable={self.can_refresh} expires_at={self.expires_at!r} "
            f"refreshes={self.refresh_count}>"
        )

    @classmethod
    def from_token(cls, token: Mapping[str, Any], **kw: Any) -> TokenManager:
        """Build from a token response dict (``access_token``, ``refresh_token``, ...)."""
        return cls(
            token.get("access_token"),
            refresh_token=token.get("refresh_token"),
            expires_at=_expiry(token),
            **kw,
        )

    @property
    def can_refresh(self) -> bool:
        return bool(self._refresh_token and self.client_id and self._client_secret)

    @property
    def access_token(self) -> str | None:
        return self._access_token

    def needs_refresh(self, now: float | None = None) -> bool:
        if not self._access_token:
            return True
        if self.expires_at is None:
            return False
        return (now if now is not None else time.time()) >= self.expires_at - REFRESH_MARGIN

    def bearer(self, session: requests.Session, base_url: str, timeout: Any) -> str:
        """Return a token that is valid now, refreshing first when it is about to expire."""
        token = self._access_token
        if self.can_refresh and self.needs_refresh():
            token = self.refresh(session, base_url, timeout, stale=token)
        if not token:
            raise ConfigurationError(
                "no access token and no way to get one: set FRESHBOOKS_ACCESS_TOKEN, or give "
                "client_id, client_secret and refresh_token"
            )
        return token

    def refresh(
        self, session: requests.Session, base_url: str, timeout: Any, *, stale: str | None
    ) -> str:
        """Refresh the pair unless another thread already replaced ``stale``; return the token."""
        with self._lock:
            if self._access_token != stale and self._access_token and not self.needs_refresh():
                return self._access_token  # another thread refreshed while we waited
            if not self.can_refresh:
                raise AuthenticationError(
                    "the access token was refused and cannot be refreshed: give client_id, "
                    "client_secret and refresh_token to refresh automatically"
                )
            assert self.client_id and self._client_secret and self._refresh_token
            body = WebApplicationClient(self.client_id).prepare_refresh_body(
                refresh_token=self._refresh_token,
                client_id=self.client_id,
                client_secret=self._client_secret,
                redirect_uri=self.redirect_uri,
            )
            token = _token_request(session, base_url.rstrip("/") + TOKEN_PATH, body, timeout)
            if self.token_saver is not None:
                # The old refresh token is now dead: persist the new pair before anything else.
                self.token_saver(dict(token))
            self._access_token = token["access_token"]
            self._refresh_token = token.get("refresh_token", self._refresh_token)
            self.expires_at = _expiry(token)
            self.refresh_count += 1
            log.debug("refreshed the access token (refresh %d)", self.refresh_count)
            return str(self._access_token)


def _expiry(token: Mapping[str, Any]) -> float | None:
    expires_in = token.get("expires_in")
    if expires_in is None:
        return None
    created = token.get("created_at")
    start = float(created) if created is not None else time.time()
    return start + float(expires_in)
