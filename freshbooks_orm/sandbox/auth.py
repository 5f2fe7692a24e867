"""OAuth2 token bookkeeping for the sandbox (bearer tokens, refresh tokens, codes).

The authorization endpoint (``GET /oauth/authorize``) approves at once, as if the user had
clicked "Authorize": it answers ``302`` to the ``redirect_uri`` with ``code`` and ``state``.  It
accepts the app's registered ``redirect_uri`` and, like a native app's registration under
RFC 8252, any loopback one (``http://127.0.0.1:<any port>/...``, ``localhost``, ``[::1]``), so
a command line's loopback receiver can be tested.  A code is bound to the ``redirect_uri`` it was
issued for: the code exchange must send the same one.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["AUTHORIZE_PATH", "DEFAULT_TOKEN_LIFETIME", "SCOPE", "OAuthError", "TokenRegistry"]

AUTHORIZE_PATH = "/oauth/authorize"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

DEFAULT_TOKEN_LIFETIME = 43200
SCOPE = "user:profile:read user:invoices:read user:invoices:write"


class OAuthError(Exception):
    """A token-endpoint error: ``{"error": ..., "error_description": ...}`` with a status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class _Access:
    created_at: float
    lifetime: int
    revoked: bool = False


class TokenRegistry:
    """Issues and checks tokens.  Thread-safe."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self._lock = threading.Lock()
        self._access: dict[str, _Access] = {}
        self._refresh: set[str] = set()
        self._codes: dict[str, str] = {}  # code -> the redirect_uri it was issued for

    def issue(self) -> dict[str, Any]:
        """A fresh token response (access + refresh token)."""
        now = time.time()
        access = secrets.token_hex(32)
        refresh = secrets.token_hex(32)
        with self._lock:
            lifetime = self.token_lifetime
            self._access[access] = _Access(now, lifetime)  # valid until now + lifetime
            self._refresh.add(refresh)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "refresh_token": refresh,
            "scope": SCOPE,
            "created_at": int(now),
        }

    def authorization_code(self, redirect_uri: str | None = None) -> str:
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = redirect_uri or self.redirect_uri
        return code

    def redirect_allowed(self, uri: Any) -> bool:
        """The registered redirect URI, or any loopback http(s) one."""
        if not isinstance(uri, str) or not uri:
            return False
        if uri == self.redirect_uri:
            return True
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and parts.hostname in _LOOPBACK_HOSTS
            and not parts.query
            and not parts.fragment
        )

    def authorize(self, params: Mapping[str, Any]) -> str:
        """Approve an authorization request at once; return the URL to redirect to.

        Raises :class:`OAuthError` (shown to the user, never redirected) for an unknown
        ``client_id`` or a ``redirect_uri`` that is not allowed; other problems are sent back to
        the ``redirect_uri`` as ``error=...``, as OAuth 2.0 (RFC 6749, 4.1.2.1) says.
        """
        if params.get("client_id") != self.client_id:
            raise OAuthError(400, "invalid_client", "Unknown client_id.")
        redirect_uri = params.get("redirect_uri") or self.redirect_uri
        if not self.redirect_allowed(redirect_uri):
            raise OAuthError(400, "invalid_request", "redirect_uri is not registered for this app.")
        answer: dict[str, str] = {}
        if params.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        else:
            answer["code"] = self.authorization_code(redirect_uri)
        state = params.get("state")
        if state is not None:
            answer["state"] = str(state)
        return f"{redirect_uri}?{urlencode(answer)}"

    def expire_all(self) -> None:
        """Every access token issued so far now answers 401."""
        with self._lock:
            for entry in self._access.values():
                entry.revoked = True

    def check_bearer(self, header: str | None) -> str | None:
        """None if ``header`` carries a valid bearer token, else a 401 description."""
        if not header:
            return "Authorization header is missing."
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Authorization header must be 'Bearer <token>'."
        with self._lock:
            entry = self._access.get(token.strip())
        if entry is None:
            return "The access token is invalid."
        if entry.revoked or time.time() >= entry.created_at + entry.lifetime:
            return "The access token expired."
        return None

    def grant(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Handle a token-endpoint request; raise :class:`OAuthError` on failure."""
        grant_type = params.get("grant_type")
        if grant_type not in ("refresh_token", "authorization_code"):
            raise OAuthError(400, "unsupported_grant_type", "grant_type is not supported.")
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed.")
        redirect = params.get("redirect_uri")
        if redirect is not None and not self.redirect_allowed(redirect):
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match.")
        if grant_type == "refresh_token":
            token = params.get("refresh_token")
            if not isinstance(token, str) or not token:
                raise OAuthError(400, "invalid_request", "refresh_token is required.")
            with self._lock:
                if token not in self._refresh:
                    raise OAuthError(
                        400, "invalid_grant", "The refresh token is invalid, expired or revoked."
                    )
                self._refresh.discard(token)
        else:
            code = params.get("code")
            if not isinstance(code, str) or not code:
                raise OAuthError(400, "invalid_request", "code is required.")
            with self._lock:
                if code not in self._codes:
                    raise OAuthError(
                        400, "invalid_grant", "The authorization code is invalid or was used."
                    )
                issued_for = self._codes.pop(code)
            if (redirect or self.redirect_uri) != issued_for:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match.")
        return self.issue()
