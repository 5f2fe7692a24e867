"""Helpers for testing code that uses freshbooks_orm with recorded cassettes (vcrpy).

``vcr_config()`` returns settings that make a recording safe to commit and able to replay
anywhere:

* **No secret survives.**  The ``Authorization`` header, cookies, the OAuth keys of JSON and form
  bodies (``access_token``, ``refresh_token``, ``client_secret``, ``id_token``, ``password``, and
  the authorization ``code`` of a token request) become ``REDACTED``.  Every *known secret* is
  also replaced wherever it occurs, inside any string of any request or response body, header or
  URL: the bearer tokens and OAuth values seen during the recording, the ``secrets=`` you pass,
  the ``FRESHBOOKS_ACCESS_TOKEN``/``REFRESH_TOKEN``/``CLIENT_SECRET`` variables and the
  credentials every ``Client`` registers (``freshbooks_orm.errors.known_secrets()``).  So a token
  that a proxy or server echoes in an error message does not reach the YAML either.  The OAuth
  parameters ``code``, ``access_token``, ``refresh_token``, ``client_secret``, ``id_token`` and
  ``password`` are redacted by name in every request URI and ``Location``-like header (a
  redirect back from the authorization page carries the code; ``state`` is kept), and with
  vcrpy's ``before_save_interaction`` hook the whole cassette is scrubbed again as it is
  written, so a secret learnt from a later interaction is out of the earlier ones too.
* **Any host, any account.**  Account ids in paths and bodies become ``ACCOUNT_ID``, and the
  scheme, host and port of FreshBooks requests become ``https://api.freshbooks.com``.  vcrpy
  applies the same rewriting to each request before matching it at replay time, so a cassette
  recorded against a sandbox on ``127.0.0.1:8765`` and account ``zDmNq`` replays for a client of
  ``https://api.freshbooks.com`` and any account, with vcrpy's standard matchers.

It works with plain vcrpy (nothing to register)::

    import vcr
    from freshbooks_orm.testing import vcr_config

    recorder = vcr.VCR(**vcr_config(record_mode="none"))
    with recorder.use_cassette("cassettes/report.yaml"):
        ...

and with pytest-recording through the plugin's ``freshbooks_vcr_config`` fixture::

    # conftest.py
    @pytest.fixture(scope="module")
    def vcr_config(freshbooks_vcr_config):
        return freshbooks_vcr_config

The plugin's ``freshbooks_cassette_client`` fixture gives the client to use in such a test: real
credentials from the environment when recording, placeholders when replaying.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import MIN_SECRET_LENGTH, known_secrets

if TYPE_CHECKING:
    from ..http.transport import Client

__all__ = [
    "ACCOUNT_PLACEHOLDER",
    "CANONICAL_API_URL",
    "REDACTED",
    "REPLAY_ACCOUNT_ID",
    "REPLAY_TOKEN",
    "REPLAY_VARIABLES",
    "SECRET_KEYS",
    "Scrubber",
    "freshbooks_path_matcher",
    "normalise_path",
    "normalise_uri",
    "replay_client",
    "scrub_request",
    "scrub_response",
    "vcr_config",
]

REDACTED = "REDACTED"
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
#: Where every recorded FreshBooks request is filed, whatever host it went to.
CANONICAL_API_URL = "https://api.freshbooks.com"
#: The credentials ``freshbooks_cassette_client`` uses when replaying (never sent anywhere).
REPLAY_TOKEN = "replayed-access-token"
REPLAY_ACCOUNT_ID = "REPLAY"
#: What a token request's ``client_id`` and ``redirect_uri`` are recorded as (they are not
#: secret, but a replaying client has other ones, and the request body must match).
CLIENT_ID_PLACEHOLDER = "CLIENT_ID"
REDIRECT_URI_PLACEHOLDER = "https://example.invalid/callback"
#: The variables ``replay_environment()`` sets, with the values a replaying client uses.
REPLAY_VARIABLES = {
    "FRESHBOOKS_ACCESS_TOKEN": REPLAY_TOKEN,
    "FRESHBOOKS_ACCOUNT_ID": REPLAY_ACCOUNT_ID,
    "FRESHBOOKS_API_URL": CANONICAL_API_URL,
    "FRESHBOOKS_CLIENT_ID": CLIENT_ID_PLACEHOLDER,
    "FRESHBOOKS_CLIENT_SECRET": "replayed-client-secret",
    "FRESHBOOKS_REDIRECT_URI": REDIRECT_URI_PLACEHOLDER,
    "FRESHBOOKS_REFRESH_TOKEN": "replayed-refresh-token",
}
SECRET_KEYS = frozenset({"access_token", "refresh_token", "client_secret", "id_token", "password"})
#: Token requests also carry the one-time authorization ``code``.  Elsewhere ``code`` means a
#: currency or postal code, so it is scrubbed from form bodies and from JSON bodies that are
#: OAuth token requests (they have a ``grant_type``) only.
FORM_SECRET_KEYS = SECRET_KEYS | {"code"}
ACCOUNT_KEYS = frozenset({"account_id", "accountid", "accounting_systemid"})
#: Environment variables whose values are secrets to replace wherever they appear.
SECRET_VARIABLES = (
    "FRESHBOOKS_ACCESS_TOKEN",
    "FRESHBOOKS_REFRESH_TOKEN",
    "FRESHBOOKS_CLIENT_SECRET",
)
_TOKEN_REQUEST_PLACEHOLDERS = {
    "client_id": CLIENT_ID_PLACEHOLDER,
    "redirect_uri": REDIRECT_URI_PLACEHOLDER,
}
#: Query parameters redacted by name in every request URI and in ``Location``-like response
#: headers (a redirect back from FreshBooks' authorization page carries the one-time ``code``;
#: an implicit grant puts ``access_token`` in the fragment).  ``state`` is kept: it is a
#: one-use anti-forgery value, worthless without the code, and a test may check it.
QUERY_SECRET_KEYS = FORM_SECRET_KEYS
#: Headers whose value is a URL whose query is redacted by name.
_URL_HEADERS = frozenset({"location", "content-location", "referer", "refresh"})
_ACCOUNT_IN_PATH = re.compile(r"(/accounting/account/)([^/?#]+)")
_BEARER = re.compile(r"(?i)^\s*bearer\s+(\S+)")
#: Paths that are FreshBooks API requests wherever they were sent (their host is normalised).
_API_PREFIXES = ("/accounting/", "/auth/", "/timetracking/", "/projects/", "/comments/")


def normalise_path(path: str) -> str:
    """Replace the account id segment of an accounting path with ``ACCOUNT_ID``."""
    return _ACCOUNT_IN_PATH.sub(lambda m: m.group(1) + ACCOUNT_PLACEHOLDER, path)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def normalise_uri(uri: str, api_urls: Iterable[str] = ()) -> str:
    """``uri`` with its account id replaced and, for a FreshBooks request, the origin made
    ``https://api.freshbooks.com``.

    A request is a FreshBooks one when its origin is one of ``api_urls`` (or
    ``$FRESHBOOKS_API_URL``) or its path is an API path (``/accounting/``, ``/auth/``, ...).
    """
    parts = urlsplit(uri)
    path = normalise_path(parts.path)
    origins = {_origin(u) for u in (*api_urls, os.environ.get("FRESHBOOKS_API_URL") or "") if u}
    if _origin(uri) in origins or path.startswith(_API_PREFIXES):
        canonical = urlsplit(CANONICAL_API_URL)
        return urlunsplit((canonical.scheme, canonical.netloc, path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class Scrubber:
    """The ``before_record_request``/``before_record_response`` pair of one ``vcr_config()``.

    It remembers every secret it sees (bearer tokens, OAuth values of token requests and answers)
    so that a later echo of one, anywhere in a body, header or URL, is replaced too.
    """

    def __init__(self, secrets: Iterable[str | None] = (), api_urls: Iterable[str] = ()) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.api_urls = tuple(api_urls)
        self.learn(*secrets)

    def __deepcopy__(self, memo: dict[int, Any]) -> Scrubber:
        # pytest-recording deep-copies the settings; the copies must share what was learnt.
        return self

    def __reduce__(self) -> Any:
        return (Scrubber, ((), self.api_urls))

    def learn(self, *values: Any) -> None:
        """Treat ``values`` (strings of at least ``MIN_SECRET_LENGTH`` characters) as secrets."""
        fresh = {v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_LENGTH}
        with self._lock:
            self._seen.update(v.strip() for v in fresh)

    def secrets(self) -> list[str]:
        """Every secret known now, longest first (so one containing another is replaced whole)."""
        env = (os.environ.get(name) for name in SECRET_VARIABLES)
        with self._lock:
            pool = {*self._seen, *known_secrets()}
        pool.update(v.strip() for v in env if v and len(v.strip()) >= MIN_SECRET_LENGTH)
        return sorted(pool, key=len, reverse=True)

    # --- text, JSON and form bodies ------------------------------------------------------------

    def scrub_text(self, text: str) -> str:
        """``text`` with every known secret and every account id in a path replaced."""
        for secret in self.secrets():
            if secret in text:
                text = text.replace(secret, REDACTED)
        return normalise_path(text)

    def scrub_url(self, url: str) -> str:
        """``url`` with the values of OAuth secret parameters (``code``, ``access_token``,
        ``refresh_token``, ``client_secret``, ...) in its query and fragment made ``REDACTED``
        (and remembered, so an echo of one elsewhere is replaced too), then every known secret
        replaced."""
        parts = urlsplit(url)
        pieces = []
        for piece in (parts.query, parts.fragment):
            pairs = parse_qsl(piece, keep_blank_values=True)
            if any(k in QUERY_SECRET_KEYS for k, _ in pairs):
                self.learn(*(v for k, v in pairs if k in QUERY_SECRET_KEYS))
                piece = urlencode(
                    [(k, REDACTED if k in QUERY_SECRET_KEYS else v) for k, v in pairs]
                )
            pieces.append(piece)
        if pieces != [parts.query, parts.fragment]:
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, *pieces))
        return self.scrub_text(url)

    def _form_value(self, key: str, value: str, token_request: bool) -> str:
        if key in FORM_SECRET_KEYS:
            return REDACTED
        if token_request and key in _TOKEN_REQUEST_PLACEHOLDERS:
            return _TOKEN_REQUEST_PLACEHOLDERS[key]
        return self.scrub_text(value)

    def _learn_json(self, value: Any) -> None:
        if isinstance(value, dict):
            token_request = "grant_type" in value
            for key, item in value.items():
                if key in SECRET_KEYS or (token_request and key == "code"):
                    self.learn(item)
                else:
                    self._learn_json(item)
        elif isinstance(value, list):
            for item in value:
                self._learn_json(item)

    def _scrub_json(self, value: Any) -> Any:
        if isinstance(value, dict):
            token_request = "grant_type" in value
            out = {}
            for key, item in value.items():
                if (key in SECRET_KEYS or (token_request and key == "code")) and isinstance(
                    item, str
                ):
                    out[self.scrub_text(key)] = REDACTED
                elif key in ACCOUNT_KEYS and isinstance(item, str):
                    out[key] = ACCOUNT_PLACEHOLDER
                elif token_request and key in _TOKEN_REQUEST_PLACEHOLDERS:
                    out[key] = _TOKEN_REQUEST_PLACEHOLDERS[key]
                else:
                    out[self.scrub_text(key)] = self._scrub_json(item)
            return out
        if isinstance(value, list):
            return [self._scrub_json(item) for item in value]
        if isinstance(value, str):
            return self.scrub_text(value)
        return value

    def scrub_body(self, body: Any) -> Any:
        """A body (bytes or str) with secrets and account ids replaced; JSON stays JSON."""
        if not body:
            return body
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            pairs = parse_qsl(raw, keep_blank_values=True)
            if pairs and "=" in raw and "\n" not in raw and " " not in raw:
                self.learn(*(v for k, v in pairs if k in FORM_SECRET_KEYS))
                token_request = any(k == "grant_type" for k, _ in pairs)
                scrubbed = urlencode([(k, self._form_value(k, v, token_request)) for k, v in pairs])
            else:
                scrubbed = self.scrub_text(raw)
        else:
            try:
                self._learn_json(parsed)
                scrubbed = json.dumps(self._scrub_json(parsed))
            except RecursionError:  # too deep to walk: keep the text, secrets replaced
                scrubbed = self.scrub_text(raw)
        if scrubbed == raw:
            return body
        return scrubbed.encode() if isinstance(body, bytes) else scrubbed

    # --- vcrpy hooks ---------------------------------------------------------------------------

    def scrub_request(self, request: Any) -> Any:
        """vcrpy ``before_record_request``: no token, secret, code or account id survives, and a
        FreshBooks request is filed under ``https://api.freshbooks.com``."""
        headers = request.headers
        for name in list(headers):
            lowered = name.lower()
            if lowered == "authorization":
                match = _BEARER.match(str(headers[name]))
                if match:
                    self.learn(match.group(1))
                headers[name] = f"Bearer {REDACTED}"
            elif lowered in ("cookie", "set-cookie"):
                del headers[name]
        uri = self.scrub_url(normalise_uri(request.uri, self.api_urls))  # learns a code first
        request.body = self.scrub_body(request.body)
        for name in list(headers):
            value = headers[name]
            if isinstance(value, str):
                scrub = self.scrub_url if name.lower() in _URL_HEADERS else self.scrub_text
                headers[name] = scrub(value)
        request.uri = self.scrub_text(uri)
        return request

    def scrub_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy ``before_record_response``: secrets and account ids out of bodies and headers."""
        headers = response.get("headers") or {}
        for name in list(headers):  # a redirect's code is learnt before the body is scrubbed
            if name.lower() in _URL_HEADERS:
                headers[name] = self._scrub_values(headers[name], self.scrub_url)
        body = response.get("body") or {}
        if body.get("string"):
            body["string"] = self.scrub_body(body["string"])
        for name in list(headers):
            if name.lower() in ("set-cookie", "authorization"):
                headers[name] = [REDACTED]
            else:
                headers[name] = self._scrub_values(headers[name], self.scrub_text)
        return response

    @staticmethod
    def _scrub_values(values: Any, scrub: Any) -> Any:
        if isinstance(values, list):
            return [scrub(v) if isinstance(v, str) else v for v in values]
        return scrub(values) if isinstance(values, str) else values

    def scrub_interaction(self, request: Any, response: dict[str, Any]) -> tuple[Any, Any]:
        """vcrpy ``before_save_interaction``: scrub each interaction again as the cassette is
        written, so a secret first seen in a later interaction (a code that came back in a
        redirect, a token a later response echoed) is out of the earlier ones too."""
        return self.scrub_request(request), self.scrub_response(response)


_default = Scrubber()


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request`` with a process-wide ``Scrubber``."""
    return _default.scrub_request(request)


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response`` with a process-wide ``Scrubber``."""
    return _default.scrub_response(response)


def freshbooks_path_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: paths equal once account ids are normalised (raises AssertionError if not).

    ``vcr_config()`` no longer needs it (its request hook normalises paths before vcrpy's own
    ``path`` matcher runs); it stays for configurations that name ``freshbooks_path``.
    """
    assert normalise_path(r1.path) == normalise_path(r2.path), f"{r1.path} != {r2.path}"


def replay_client(**overrides: Any) -> Client:
    """A client that replays any cassette recorded with ``vcr_config()``: placeholder
    credentials (``REPLAY_VARIABLES``), refresh ones included, so a recorded 401 and token
    refresh replay too; retries without waiting.  Keyword arguments override ``Client``'s."""
    from ..http.transport import Client, RetryPolicy

    env = REPLAY_VARIABLES
    options: dict[str, Any] = {
        "access_token": env["FRESHBOOKS_ACCESS_TOKEN"],
        "account_id": env["FRESHBOOKS_ACCOUNT_ID"],
        "base_url": env["FRESHBOOKS_API_URL"],
        "client_id": env["FRESHBOOKS_CLIENT_ID"],
        "client_secret": env["FRESHBOOKS_CLIENT_SECRET"],
        "redirect_uri": env["FRESHBOOKS_REDIRECT_URI"],
        "refresh_token": env["FRESHBOOKS_REFRESH_TOKEN"],
        "token_saver": lambda token: None,  # a replayed token is a placeholder: nothing to keep
        "retry": RetryPolicy(backoff=0.0, max_backoff=0.0, max_retry_after=0.0),
    }
    options.update(overrides)
    return Client(**options)


def _vcr_saves_through_hooks() -> bool:
    """Whether the installed vcrpy has the ``before_save_interaction`` hook (vcrpy 9)."""
    try:
        import vcr
    except ImportError:
        return True  # the settings are for a vcrpy yet to be installed: assume a current one
    return "before_save_interaction" in inspect.signature(vcr.VCR).parameters


def vcr_config(
    *, secrets: Iterable[str | None] = (), api_urls: Iterable[str] = (), **overrides: Any
) -> dict[str, Any]:
    """Settings for ``vcr.VCR(**vcr_config())`` or pytest-recording's ``vcr_config`` fixture.

    ``secrets``: more values to replace wherever they occur (a client's credentials, say);
    ``api_urls``: API roots whose requests are filed under ``https://api.freshbooks.com``
    (``$FRESHBOOKS_API_URL`` and every ``/accounting/``, ``/auth/``, ... path always are).
    Other keyword arguments override the settings (``record_mode="none"``, ``match_on=...``).
    """
    scrubber = Scrubber(secrets, api_urls)
    config: dict[str, Any] = {
        "before_record_request": scrubber.scrub_request,
        "before_record_response": scrubber.scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }
    if _vcr_saves_through_hooks():
        config["before_save_interaction"] = scrubber.scrub_interaction
    config.update(overrides)
    return config
