"""Every exception freshbooks_orm raises.

The tree::

    FreshBooksError                      root of everything the server or the transport says
    ├── AuthenticationError (401)        bad, missing or expired token; a refresh that failed
    ├── PermissionDenied (403)
    ├── NotFound (404)                   each model's ``DoesNotExist`` subclasses it
    ├── ValidationError (400, 422)       the server refused the values sent
    ├── RateLimitError (429)             ``retry_after`` in seconds, when the server said
    ├── ServerError (5xx)
    │   └── UncertainWriteError          a POST failed after it may have reached the server
    ├── TransportError                   connection refused/reset, timeout, a body that is not JSON
    └── MultipleObjectsReturned          ``get()`` matched more than one row

    Client-side misuse, raised before any request is sent, subclassing the built-in a user catches:
    ConfigurationError(FreshBooksError, ValueError)   missing credentials or account id
    UnknownFilterError(TypeError)                      a filter name the API does not know
    InvalidFilterValue(ValueError)                     a known filter with a value it cannot take
    ReadOnlyFieldError(AttributeError)                 assigning a computed or create-only field

Server errors carry ``status_code``, ``errno``, ``field``, ``message``, ``errors`` (every error of
the body, normalised to dicts with ``errno``/``field``/``message``/``object``/``value``), ``body``
(the parsed body, or the text snippet) and ``method``/``path`` of the request.  Secrets never reach
an exception message: the transport scrubs them before raising.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "FreshBooksError",
    "InvalidFilterValue",
    "MultipleObjectsReturned",
    "NotFound",
    "PermissionDenied",
    "RateLimitError",
    "ReadOnlyFieldError",
    "ServerError",
    "TransportError",
    "UncertainWriteError",
    "UnknownFilterError",
    "ValidationError",
    "error_for_response",
    "parse_error_body",
]


class FreshBooksError(Exception):
    """Root of every error the server or the transport reports."""

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int | None = None,
        errno: int | None = None,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.errno = errno
        self.field = field
        self.errors = errors or []
        self.body = body
        self.method = method
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        head = " ".join(parts)
        detail = self.message
        if self.errno is not None:
            detail = f"{detail} (errno {self.errno}" + (
                f", field {self.field!r})" if self.field else ")"
            )
        elif self.field:
            detail = f"{detail} (field {self.field!r})"
        return f"{head}: {detail}" if head else detail


class AuthenticationError(FreshBooksError):
    """401: the token is missing, wrong or expired, or a token refresh failed."""


class PermissionDenied(FreshBooksError):
    """403: the token is valid but may not do this."""


class NotFound(FreshBooksError):
    """404: no such resource (errno 1012) or account."""


class ValidationError(FreshBooksError):
    """400 or 422: the server refused the values sent."""


class RateLimitError(FreshBooksError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(FreshBooksError):
    """5xx from FreshBooks or a proxy in front of it."""


class UncertainWriteError(ServerError):
    """A POST failed after it may have reached the server: the object may or may not exist.

    FreshBooks has no idempotency keys, so such a POST is never re-sent automatically.
    Look the object up (for example by ``invoice_number``) before creating it again.
    """


class TransportError(FreshBooksError):
    """The request did not produce a usable answer: connection error, timeout, non-JSON body."""


class MultipleObjectsReturned(FreshBooksError):
    """``get()`` matched more than one object."""


class ConfigurationError(FreshBooksError, ValueError):
    """The client lacks credentials or an account id, or they contradict each other."""


class UnknownFilterError(TypeError):
    """A filter name the API does not know. The server would ignore it and return everything."""


class InvalidFilterValue(ValueError):
    """A known filter was given a value it cannot take."""


class ReadOnlyFieldError(AttributeError):
    """Assignment to a computed field, or to a create-only field of a saved object."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the valid name most like ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


# --- parsing the server's error bodies -----------------------------------------------------------

_ERROR_CLASSES: Mapping[int, type[FreshBooksError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    422: ValidationError,
    429: RateLimitError,
}


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_error_body(body: Any) -> list[dict[str, Any]]:
    """Normalise every error envelope FreshBooks is known to send into a list of dicts.

    Three shapes exist: the accounting one (``{"response": {"errors": [...]}}``), the
    google.rpc one some API versions sent (``{"code": 5, "message": ..., "details": [...]}``),
    and the auth one (``{"error": "unauthenticated", "error_description": ...}``).
    """
    if not isinstance(body, dict):
        return []
    response = body.get("response")
    if isinstance(response, dict) and "errors" in response:
        raw = response["errors"]
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for item in items:
            if isinstance(item, dict):
                out.append(
                    {
                        "errno": _as_int(item.get("errno")),
                        "field": item.get("field"),
                        "message": str(item.get("message") or ""),
                        "object": item.get("object"),
                        "value": item.get("value"),
                    }
                )
        return out
    if "details" in body or ("code" in body and "message" in body):
        out = []
        for detail in body.get("details") or []:
            if not isinstance(detail, dict):
                continue
            meta = detail.get("metadata") or {}
            out.append(
                {
                    "errno": _as_int(detail.get("reason")),
                    "field": meta.get("field"),
                    "message": str(meta.get("message") or body.get("message") or ""),
                    "object": meta.get("object"),
                    "value": meta.get("value"),
                }
            )
        if not out:
            out.append(
                {
                    "errno": _as_int(body.get("code")),
                    "field": None,
                    "message": str(body.get("message") or ""),
                    "object": None,
                    "value": None,
                }
            )
        return out
    if "error" in body:
        message = body.get("error_description") or body.get("error")
        return [
            {
                "errno": None,
                "field": None,
                "message": str(message),
                "object": None,
                "value": None,
                "error": body.get("error"),
            }
        ]
    return []


def error_for_response(
    status_code: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
    snippet: str | None = None,
) -> FreshBooksError:
    """Build the typed exception for an HTTP error answer (``body`` already parsed, or None)."""
    errors = parse_error_body(body)
    first = errors[0] if errors else {}
    message = first.get("message") or (
        f"unexpected response body: {snippet!r}" if snippet else "no error details in the response"
    )
    cls = _ERROR_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else FreshBooksError
    kw: dict[str, Any] = {
        "status_code": status_code,
        "errno": first.get("errno"),
        "field": first.get("field"),
        "errors": errors,
        "body": body if body is not None else snippet,
        "method": method,
        "path": path,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kw)
    return cls(message, **kw)
