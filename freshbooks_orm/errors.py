"""Every exception freshbooks_orm raises.

The tree::

    FreshBooksError                      root of everything the server or the transport says
    ├── AuthenticationError (401)        bad, missing or expired token; a refresh that failed
    ├── PermissionDenied (403)
    ├── NotFound (404)                   each model's ``DoesNotExist`` subclasses it
    ├── ValidationError (400, 422)       the server refused the values sent
    ├── RateLimitError (429)             ``retry_after`` in seconds, when the server said
    ├── ServerError (5xx)
    ├── TransportError                   connection refused/reset, timeout, a body that is not JSON
    │   └── MalformedResponseError       JSON of the wrong shape (rows not a list, bad total)
    ├── UncertainWriteError              a POST failed after it may have reached the server
    ├── ConflictError                    a batch left an object alone: it changed since it was read
    ├── MultipleObjectsReturned          ``get()`` matched more than one row
    ├── FilterNotAppliedError            the server answered with a row its filter excludes
    ├── FieldValueError (ValueError)     a field the server sent cannot be read (``2024-02-30``)
    └── JournalError                     the batch journal cannot be used (``journal_path``)
        ├── RunInUseError                another live process holds the run (``holder``)
        ├── RunStateError                the run cannot do that now (resume an undone run, ...)
        └── UnknownRunError              no run, or an empty or ambiguous run id prefix

    ``UncertainWriteError`` is deliberately neither a ``ServerError`` nor a ``TransportError``: a
    handler that retries those must not re-send a POST that may already have created an invoice.

    Client-side misuse, raised before any request is sent, all ``UsageError`` and each also the
    built-in a user catches:
    ConfigurationError(FreshBooksError, ValueError)   missing or malformed credentials/account id
    UnknownFilterError(TypeError)                      a filter name the API does not know
    UnknownFieldError(TypeError, AttributeError)       ``update()``/assignment named no field
    InvalidFilterValue(ValueError)                     a known filter with a value it cannot take
    InvalidFieldValue(ValueError, TypeError)           a field assigned a value it cannot send
    MixedCurrencyError(ValueError)                     money compared or summed across currencies
    UnverifiableFilterError(ValueError)                a filter whose answer cannot be checked
    ReadOnlyFieldError(AttributeError)                 assigning a computed or create-only field
    RunStateError(JournalError, ValueError)            resume an undone run, undo one twice
    UnknownRunError(JournalError, KeyError)            an empty, unknown or ambiguous run id

Server errors carry ``status_code``, ``errno``, ``field``, ``message``, ``errors`` (every error of
the body, normalised to dicts with ``errno``/``field``/``message``/``object``/``value``), ``body``
(the parsed body, or the text snippet) and ``method``/``path`` of the request.

Secrets never reach an error: every ``Client`` registers its credentials (access and refresh token,
client secret, authorization code) with ``remember_secrets``, and every ``FreshBooksError`` masks
them -- and anything shaped like a credential -- in its message, ``args``, ``body`` and ``errors``
when it is built, again when it is shown and again when it is pickled.  The transport raises its
errors outside the ``except`` block of the ``requests`` failure, so no chained exception carries a
prepared request whose headers hold the token.
"""

from __future__ import annotations

import json
import re
import reprlib
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "FieldValueError",
    "FilterNotAppliedError",
    "FreshBooksError",
    "InvalidFieldValue",
    "InvalidFilterValue",
    "JournalError",
    "MalformedResponseError",
    "MixedCurrencyError",
    "MultipleObjectsReturned",
    "NotFound",
    "PermissionDenied",
    "RateLimitError",
    "ReadOnlyFieldError",
    "RunInUseError",
    "RunStateError",
    "ServerError",
    "TransportError",
    "UncertainWriteError",
    "UnknownFieldError",
    "UnknownFilterError",
    "UnknownRunError",
    "UnverifiableFilterError",
    "UsageError",
    "ValidationError",
    "body_snippet",
    "error_for_response",
    "error_from_http",
    "loads",
    "parse_error_body",
    "redact",
    "refused_in",
    "remember_secrets",
    "scrub",
    "short_repr",
]


E = TypeVar("E", bound="FreshBooksError")


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
        message = redact(message, known_secrets())
        self.message = message
        self.status_code = status_code
        self.errno = errno
        self.field = field
        self.errors = scrub(errors or [])
        self.body = scrub(body)
        self.method = method
        self.path = path
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle what the error holds with every known secret masked again (attributes may have
        # been replaced since __init__, and a secret may have become known since).
        state = scrub(dict(self.__dict__))
        return (type(self)._unpickle, (state,))

    @classmethod
    def _unpickle(cls: type[E], state: dict[str, Any]) -> E:
        error = cls.__new__(cls)
        Exception.__init__(error, state.get("message", ""))
        error.__dict__.update(state)
        return error

    def recast(self, cls: type[E], message: str, **changes: Any) -> E:
        """This error's server details as a ``cls`` with a new message; ``changes`` override."""
        details: dict[str, Any] = {
            "status_code": self.status_code,
            "errno": self.errno,
            "field": self.field,
            "errors": self.errors,
            "body": self.body,
            "method": self.method,
            "path": self.path,
        }
        details.update(changes)
        return cls(message, **details)

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
        return redact(f"{head}: {detail}" if head else detail, known_secrets())


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


class UncertainWriteError(FreshBooksError):
    """A POST failed after it may have reached the server: the object may or may not exist.

    Raised on a read timeout, a dropped connection or a 5xx answer to a POST.  FreshBooks has no
    idempotency keys, so such a POST is never re-sent automatically.  Look the object up (for
    example by ``invoice_number``) before creating it again.  ``status_code`` is None when no
    answer arrived.
    """


class TransportError(FreshBooksError):
    """The request did not produce a usable answer: connection error, timeout, non-JSON body."""


class MalformedResponseError(TransportError):
    """A 2xx answer whose JSON is not the documented shape.

    A list whose rows are not a list of objects, a ``total`` or ``pages`` that is not a
    non-negative integer, a single answer whose object is not an object.  ``body`` is a short
    snippet of what came back; ``status_code``, ``method`` and ``path`` say which request.
    """


class ConflictError(FreshBooksError):
    """A batch left an object alone: it changed since it was planned or read (a run, resume) or
    since the run wrote it (undo)."""


class MultipleObjectsReturned(FreshBooksError):
    """``get()`` matched more than one object."""


class FilterNotAppliedError(FreshBooksError):
    """The server returned a row that contradicts a filter the query sent, or a page of rows
    none of which carries the filter's field (so nothing shows the filter was applied).

    FreshBooks silently ignores filters it does not honour and then answers with *every* row;
    every row of a list answer is checked against each server filter whose field it carries,
    and the first contradiction raises this before any row of that page is used (so before a
    batch plans or writes anything).  A page on which no row carries the field raises it too,
    unless the queryset has ``allow_unverified()``.  ``filter`` is the API filter's name,
    ``parameter`` the query pair sent (``search[statusid]=1``), ``row_id`` the id of a row that
    contradicts it.
    """

    def __init__(
        self,
        message: str = "",
        *,
        filter: str | None = None,
        parameter: str | None = None,
        row_id: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.filter = filter
        self.parameter = parameter
        self.row_id = row_id


class JournalError(FreshBooksError):
    """The batch journal could not be opened, read or written.

    ``journal_path`` is the file; the message says what went wrong (corrupt file, a directory,
    locked too long, disk full) and what to do.  When it interrupts a run, writes already sent
    are never repeated: ``resume`` re-reads every item whose outcome could not be recorded.
    """

    def __init__(self, message: str = "", *, journal_path: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.journal_path = journal_path


class RunInUseError(JournalError):
    """Another live process holds the run's lease; ``holder`` says which (pid, host, since)."""

    def __init__(self, message: str = "", *, holder: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.holder = holder


class FieldValueError(FreshBooksError, ValueError):
    """A field the server sent does not parse as its declared type.

    Raised on attribute access (fields parse lazily), naming the ``resource``, its
    ``object_id``, the ``field`` and the raw ``value`` (a short text when it is a nested value).
    """

    def __init__(
        self,
        message: str = "",
        *,
        resource: str | None = None,
        object_id: Any = None,
        value: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.resource = resource
        self.object_id = scrub(object_id)
        self.value = scrub(value)


class UsageError(Exception):
    """The caller asked for something impossible; raised before any request is sent.

    Every such error is also the built-in a caller would catch (``TypeError``, ``ValueError``,
    ``AttributeError``); the command line reports them with exit code 2.
    """


class RunStateError(JournalError, UsageError, ValueError):
    """The run cannot do that in its state: resume an undone run, undo it twice, ..."""


class UnknownRunError(JournalError, UsageError, KeyError):
    """No such run in the journal, or an empty or ambiguous run id prefix."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return FreshBooksError.__str__(self)


class ConfigurationError(FreshBooksError, UsageError, ValueError):
    """The client lacks credentials or an account id, they are malformed, or they contradict."""


class UnknownFilterError(UsageError, TypeError):
    """A filter name the API does not know. The server would ignore it and return everything."""


class UnknownFieldError(UsageError, TypeError, AttributeError):
    """A name that is not a field of the model: in ``update()``, ``--set``, the constructor,
    or an attribute assignment (``inv.po_numbr = ...``)."""


class InvalidFilterValue(UsageError, ValueError):
    """A known filter was given a value it cannot take."""


class UnverifiableFilterError(UsageError, ValueError):
    """The query sends an API filter whose rows cannot be verified, and was not told to trust it.

    A filter the declarations give no meaning to (``has_outstanding`` on customers) cannot be
    checked on the rows that come back, so a server that ignores it would answer with every
    row.  Such a query raises this before any request; ``qs.allow_unverified()`` sends it
    anyway (``explain()`` lists these filters).
    """


class MixedCurrencyError(UsageError, ValueError):
    """Money of different currencies was compared, ordered or summed; the currencies are named."""


class InvalidFieldValue(UsageError, ValueError, TypeError):
    """A field was given a value it cannot send (a ``ValueError``, and a ``TypeError`` for a
    value of the wrong type)."""


class UnsupportedOperationError(UsageError, TypeError):
    """The resource cannot do that through the API: saving a read-only resource, restoring one
    that has no state, a batch delete of one deleted by HTTP DELETE (which cannot be undone)."""


class ReadOnlyFieldError(UsageError, AttributeError):
    """Assignment to a computed field, or to a create-only field of a saved object."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the valid name most like ``name``, or None when nothing is close."""
    import difflib  # only a mistake needs it

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


#: The class of a refusal that came with a success status, by its errno (errors page [doc]).
_REFUSAL_CLASSES: Mapping[Any, type[FreshBooksError]] = {
    1003: PermissionDenied,
    1011: NotFound,
    1012: NotFound,
}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, ArithmeticError):
        return None


def _error_dict(
    errno: Any = None,
    field: Any = None,
    message: Any = "",
    obj: Any = None,
    value: Any = None,
) -> dict[str, Any]:
    return {
        "errno": _as_int(errno),
        "field": None if field is None else str(field),
        "message": "" if message is None else str(message),
        "object": obj,
        "value": value,
    }


def parse_error_body(body: Any) -> list[dict[str, Any]]:
    """Normalise every error envelope FreshBooks is known to send into a list of dicts.

    Three shapes exist: the accounting one (``{"response": {"errors": [...]}}``), the
    google.rpc one some API versions sent (``{"code": 5, "message": ..., "details": [...]}``),
    and the auth one (``{"error": "unauthenticated", "error_description": ...}``).  Each dict has
    ``errno``, ``field``, ``message``, ``object`` and ``value``; the auth shape adds ``error``.
    Anything else gives ``[]``.

    >>> parse_error_body({"response": {"errors": [{"errno": 1012, "message": "Not found."}]}})
    [{'errno': 1012, 'field': None, 'message': 'Not found.', 'object': None, 'value': None}]
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
                    _error_dict(
                        item.get("errno"),
                        item.get("field"),
                        item.get("message"),
                        item.get("object"),
                        item.get("value"),
                    )
                )
            elif isinstance(item, str):
                out.append(_error_dict(message=item))
        return out
    if "details" in body or ("code" in body and "message" in body):
        out = []
        details = body.get("details")
        for detail in details if isinstance(details, list) else []:
            if not isinstance(detail, dict):
                continue
            meta = detail.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            out.append(
                _error_dict(
                    detail.get("reason"),
                    meta.get("field"),
                    meta.get("message") or body.get("message"),
                    meta.get("object"),
                    meta.get("value"),
                )
            )
        if not out:
            out.append(_error_dict(body.get("code"), message=body.get("message")))
        return out
    if "error" in body:
        error = body.get("error")
        if isinstance(error, dict):  # {"error": {"message": ...}} from some gateways
            return [_error_dict(error.get("code"), message=error.get("message") or error)]
        error_dict = _error_dict(message=body.get("error_description") or error)
        error_dict["error"] = None if error is None else str(error)
        return [error_dict]
    return []


# Bearer headers, and token-like fields in JSON or form bodies, as a proxy might echo them.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|client_secret)[\"']?\s*[:=]\s*[\"']?)"
        r"[A-Za-z0-9._~+/=-][^\"'&\s,}]*"  # a value starts as a token does (not "(or ...")
    ),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with ``secrets`` and anything that looks like a credential masked.

    >>> redact("Authorization: Bearer abc123 and s3cr3t", ["s3cr3t"])
    'Authorization: Bearer *** and ***'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


# --- known secrets ---------------------------------------------------------------------------

#: Shorter strings are not treated as secrets: masking every "token" in every message would
#: make errors unreadable, and no real credential is that short.
MIN_SECRET_LENGTH = 8
_known: set[str] = set()
_known_lock = threading.Lock()
#: Nesting deeper than this is replaced by a marker when an error keeps a body.
MAX_KEPT_DEPTH = 32


def remember_secrets(*values: str | None) -> None:
    """Register credentials that every ``FreshBooksError`` masks from now on (process-wide)."""
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    if fresh - _known:
        with _known_lock:
            _known.update(fresh)


def known_secrets() -> tuple[str, ...]:
    """The registered secrets, longest first (so a secret containing another is masked whole)."""
    return tuple(sorted(_known, key=len, reverse=True))


def scrub(value: Any, secrets: Iterable[str | None] | None = None, _depth: int = 0) -> Any:
    """A copy of ``value`` (parsed JSON) with secrets masked in every string, keys included.

    Nesting deeper than ``MAX_KEPT_DEPTH`` is replaced by a marker, so what an error keeps can
    always be printed and pickled.
    """
    if secrets is None:
        secrets = known_secrets()
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, (dict, list, tuple)) and _depth >= MAX_KEPT_DEPTH:
        return "(nested too deep)"
    if isinstance(value, dict):
        return {
            scrub(k, secrets, _depth + 1): scrub(v, secrets, _depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, secrets, _depth + 1) for v in value)
    return value


_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80
_short.maxlevel = 3


def short_repr(value: Any) -> str:
    """A bounded ``repr`` for messages: safe on huge or deeply nested values, secrets masked."""
    return redact(_short.repr(value), known_secrets())


def refused_in(body: Any) -> bool:
    """Whether a parsed 2xx answer is FreshBooks' errors envelope (a non-empty
    ``{"response": {"errors": [...]}}``): a refusal, whatever the status said."""
    if not isinstance(body, dict):
        return False
    response = body.get("response")
    return isinstance(response, dict) and bool(response.get("errors"))


def error_for_response(
    status_code: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
    snippet: str | None = None,
    refusal: bool = False,
) -> FreshBooksError:
    """Build the typed exception for an HTTP error answer (``body`` already parsed, or None).

    ``refusal``: the answer's status was a success but its body is an errors envelope; the
    class then follows the errno (1003 ``PermissionDenied``, 1011/1012 ``NotFound``, any other
    ``ValidationError``)."""
    errors = parse_error_body(body)
    first = errors[0] if errors else {}
    message = first.get("message") or (
        f"unexpected response body: {snippet!r}" if snippet else "no error details in the response"
    )
    if refusal:
        cls: type[FreshBooksError] | None = _REFUSAL_CLASSES.get(
            first.get("errno"), ValidationError
        )
        message = f"{message} (answered HTTP {status_code} with FreshBooks' errors envelope)"
    else:
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


def body_snippet(content: bytes, limit: int = 200) -> str:
    """The first ``limit`` bytes of a body as one line of text, for an error message."""
    text = content[:limit].decode("utf-8", "replace")
    snippet = " ".join(text.split())
    return snippet + (" ..." if len(content) > limit else "")


def error_from_http(
    status_code: int,
    content: bytes,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
    refusal: bool = False,
) -> FreshBooksError:
    """Build the typed exception for an HTTP error answer from its raw body.

    JSON bodies go through ``parse_error_body``; an HTML, empty or truncated body becomes a
    short snippet instead (never a ``JSONDecodeError``).  Server-provided text is passed
    through ``redact`` so an echoing proxy cannot leak a token into the message.
    """
    secrets = list(secrets)
    body: Any = None
    snippet: str | None = None
    if not content.strip():
        snippet = "(empty body)"
    else:
        try:
            body = loads(content)
        except ValueError:  # includes JSONDecodeError, UnicodeDecodeError and deep nesting
            snippet = redact(body_snippet(content), secrets)
        else:
            body = scrub(body, secrets)
    error = error_for_response(
        status_code,
        body,
        method=method,
        path=path,
        retry_after=retry_after,
        snippet=snippet,
        refusal=refusal,
    )
    error.message = redact(error.message, secrets)
    error.args = (error.message,)
    error.errors = scrub(error.errors, secrets)
    return error


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(content: bytes | str) -> Any:
    """Parse an answer: floats as ``Decimal``; ``NaN``/``Infinity`` and nesting too deep to
    handle raise ``ValueError`` like any other body that is not JSON."""
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
