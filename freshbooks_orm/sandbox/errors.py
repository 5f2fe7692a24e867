"""The sandbox's API errors: an HTTP status plus one FreshBooks error entry."""

from __future__ import annotations

from typing import Any

__all__ = ["ERRNO", "StoreError", "invalid", "not_found", "required"]

#: FreshBooks' documented errnos (freshbooks.com/api/errors) used by the sandbox.
ERRNO = {
    "required": 1001,
    "access_denied": 1003,
    "invalid": 1004,
    "parse": 1005,
    "unknown": 1012,
    "per_page": 1013,
    "page": 1014,
    "not_a_number": 1015,
    "too_long": 1017,
    "not_a_boolean": 1031,
    "not_a_date": 1033,
}


class StoreError(Exception):
    """An API error: HTTP status plus one FreshBooks error entry."""

    def __init__(
        self,
        status: int,
        errno: int,
        field: str | None,
        message: str,
        value: Any = None,
        object_: str | None = "invoice",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.field = field
        self.message = message
        self.value = None if value is None else _short(value)
        self.object = object_

    def envelope(self) -> dict[str, Any]:
        return {
            "response": {
                "errors": [
                    {
                        "errno": self.errno,
                        "field": self.field,
                        "message": self.message,
                        "object": self.object,
                        "value": self.value,
                    }
                ]
            }
        }


def _short(value: Any) -> str:
    """The offending value as text, cut short (a 5 MB value must not be echoed back)."""
    try:
        text = str(value)
    except ValueError:  # an int too large to print
        return "<a number too large to print>"
    return text if len(text) <= 200 else text[:200] + "..."


def not_found(what: str, field: str, value: Any) -> StoreError:
    return StoreError(404, 1012, field, f"{what.capitalize()} not found.", value, what)


def invalid(
    field: str,
    value: Any,
    status: int = 422,
    message: str | None = None,
    errno: int = 1004,
    object_: str | None = "invoice",
) -> StoreError:
    return StoreError(
        status, errno, field, message or f"Invalid value for field {field}.", value, object_
    )


def required(field: str, object_: str | None = "invoice") -> StoreError:
    return StoreError(422, 1001, field, f"Field {field} is required.", None, object_)
