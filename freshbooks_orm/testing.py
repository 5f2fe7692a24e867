"""Helpers for testing code that uses freshbooks_orm with recorded cassettes (vcrpy).

``vcr_config()`` returns settings that make a recording safe to commit: the ``Authorization``
header, OAuth tokens, client secrets and authorization codes are replaced with ``REDACTED``, and
the account id in paths and bodies becomes ``ACCOUNT_ID`` so cassettes replay under any account.
Pair it with the ``freshbooks_path`` matcher (registered for you by the pytest plugin when
pytest-recording is installed), which compares paths with account ids normalised.

No secret ever reaches a cassette written with these settings::

    # conftest.py
    @pytest.fixture(scope="module")
    def vcr_config(freshbooks_vcr_config):
        return freshbooks_vcr_config
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "ACCOUNT_PLACEHOLDER",
    "REDACTED",
    "SECRET_KEYS",
    "freshbooks_path_matcher",
    "normalise_path",
    "scrub_request",
    "scrub_response",
    "vcr_config",
]

REDACTED = "REDACTED"
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
SECRET_KEYS = frozenset({"access_token", "refresh_token", "client_secret", "id_token", "password"})
#: Form bodies (OAuth token requests) also carry the one-time authorization ``code``; JSON bodies
#: use ``code`` for currencies and postal codes, so it is scrubbed from forms only.
FORM_SECRET_KEYS = SECRET_KEYS | {"code"}
ACCOUNT_KEYS = frozenset({"account_id", "accountid", "accounting_systemid"})
_ACCOUNT_IN_PATH = re.compile(r"(/accounting/account/)([^/?#]+)")


def normalise_path(path: str) -> str:
    """Replace the account id segment of an accounting path with ``ACCOUNT_ID``."""
    return _ACCOUNT_IN_PATH.sub(lambda m: m.group(1) + ACCOUNT_PLACEHOLDER, path)


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in SECRET_KEYS and isinstance(item, str):
                out[key] = REDACTED
            elif key in ACCOUNT_KEYS and isinstance(item, str):
                out[key] = ACCOUNT_PLACEHOLDER
            else:
                out[key] = _scrub_json(item)
        return out
    if isinstance(value, list):
        return [_scrub_json(item) for item in value]
    return value


def _scrub_body(body: Any) -> Any:
    if not body:
        return body
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        scrubbed = json.dumps(_scrub_json(json.loads(raw)))
    except ValueError:
        pairs = parse_qsl(raw, keep_blank_values=True)
        if not pairs or "=" not in raw:
            return body
        scrubbed = urlencode([(k, REDACTED if k in FORM_SECRET_KEYS else v) for k, v in pairs])
    return scrubbed.encode() if isinstance(body, bytes) else scrubbed


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: no token, secret, code or account id survives."""
    request.uri = normalise_path(request.uri)
    request.body = _scrub_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: tokens and account ids out of JSON bodies."""
    body = response.get("body") or {}
    if body.get("string"):
        body["string"] = _scrub_body(body["string"])
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("set-cookie", "authorization"):
            headers[name] = [REDACTED]
    return response


def freshbooks_path_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: paths equal once account ids are normalised (raises AssertionError if not)."""
    assert normalise_path(r1.path) == normalise_path(r2.path), f"{r1.path} != {r2.path}"


def vcr_config(**overrides: Any) -> dict[str, Any]:
    """Settings for ``vcr.VCR(**vcr_config())`` or pytest-recording's ``vcr_config`` fixture."""
    config: dict[str, Any] = {
        "filter_headers": [
            ("authorization", f"Bearer {REDACTED}"),
            ("cookie", None),
            ("set-cookie", None),
        ],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "freshbooks_path", "query", "body"],
    }
    config.update(overrides)
    return config
