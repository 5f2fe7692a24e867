"""OAuth2 token bookkeeping for the sandbox (bearer tokens, refresh tokens, codes)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_TOKEN_LIFETIME", "SCOPE", "OAuthError", "TokenRegistry"]

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
        self._codes: set[str] = set()

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

    def authorization_code(self) -> str:
        code = secrets.token_hex(16)
        with self._lock:
            self._codes.add(code)
        return code

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
        if redirect is not None and redirect != self.redirect_uri:
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
                self._codes.discard(code)
        return self.issue()
