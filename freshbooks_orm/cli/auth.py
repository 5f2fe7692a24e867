"""``freshbooks-orm login``, ``logout`` and ``whoami``, and the command line's credentials.

``login`` runs OAuth's authorization-code flow: it prints the FreshBooks authorization URL,
waits for the browser to come back to a loopback receiver at the ``redirect_uri`` (the
``state`` must match), exchanges the code and saves the token in the token file
(``$FRESHBOOKS_ORM_TOKENS``, else ``tokens.json`` in the user's config directory; see
``freshbooks_orm.tokens.default_token_path``), with the app's ``client_id``,
``client_secret`` and ``redirect_uri`` beside it so later commands can refresh.  The file is
owner-only and every process shares it safely (``FileTokenStore``).

Every other command takes its credentials from, in order: ``--access-token`` or
``FRESHBOOKS_ACCESS_TOKEN`` (never refreshed); the token file; nothing (an error saying to log
in).  The command line never refreshes a token it has nowhere to save: a refresh token works
once, so refreshing ``FRESHBOOKS_REFRESH_TOKEN`` and throwing the new one away would lock every
program sharing it out.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import queue
import secrets
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import AuthenticationError, ConfigurationError
from ..http.auth import (
    AUTHORIZE_URL,
    DEFAULT_API_URL,
    authorization_url,
    exchange_code,
    is_loopback,
)
from ..http.tokens import TOKENS_ENV, FileTokenStore, default_token_path
from ..http.transport import ME_PATH, Client
from .output import PROG, _table

if TYPE_CHECKING:
    from .context import Context

__all__ = ["COMMANDS", "add_commands", "make_client"]

#: Register this exact URI in your FreshBooks app (FreshBooks requires https; see ``login``).
DEFAULT_REDIRECT_URI = "https://localhost:8976/callback"
LOGIN_TIMEOUT = 300.0
#: Keys the command line keeps beside the token in its token file.
APP_KEYS = ("client_id", "client_secret", "redirect_uri", "api_url", "account_id")


def _no_place_to_save(path: str) -> str:
    return (
        "refusing to refresh FRESHBOOKS_REFRESH_TOKEN: the command line has nowhere to save the "
        "new refresh token, and FreshBooks refresh tokens work once (the next run, and every "
        f"program sharing it, would be locked out). Run '{PROG} login' instead (it keeps the "
        f"tokens in {path}; set {TOKENS_ENV} to use another file), or give a fresh "
        "FRESHBOOKS_ACCESS_TOKEN"
    )


# --- the client every command uses -------------------------------------------------------------


def make_client(
    access_token: str | None = None, account_id: str | None = None, api_url: str | None = None
) -> Client:
    """The command line's client: an explicit access token, else the token file's login."""
    env = os.environ
    path = default_token_path()
    explicit = access_token or env.get("FRESHBOOKS_ACCESS_TOKEN")
    if explicit:
        client = Client(access_token=explicit, account_id=account_id, base_url=api_url)
        if client.tokens.can_refresh:
            client.tokens.forbid_refresh(_no_place_to_save(str(path)))
        return client
    store = FileTokenStore(path)
    stored = store.load()
    if stored and stored.get("access_token"):
        return Client(
            token_store=store,
            account_id=account_id or env.get("FRESHBOOKS_ACCOUNT_ID") or stored.get("account_id"),
            base_url=api_url or env.get("FRESHBOOKS_API_URL") or stored.get("api_url"),
            # The token was issued to this app: refresh it as that app.
            client_id=stored.get("client_id"),
            client_secret=stored.get("client_secret"),
            redirect_uri=stored.get("redirect_uri"),
        )
    if env.get("FRESHBOOKS_REFRESH_TOKEN"):
        raise ConfigurationError(_no_place_to_save(str(path)))
    raise ConfigurationError(
        f"no FreshBooks credentials: run '{PROG} login' (the token is kept in {path}), or set "
        "FRESHBOOKS_ACCESS_TOKEN"
    )


# --- arguments ---------------------------------------------------------------------------------


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``login``, ``logout`` and ``whoami`` to the command line's subparsers."""
    login = commands.add_parser(
        "login",
        parents=[common],
        help="log in to FreshBooks (OAuth in a browser) and keep the token",
        description=(
            "Print the FreshBooks authorization URL, wait for the browser to come back to the "
            "loopback redirect URI, and save the token (with the app's credentials, owner-only) "
            f"in {default_token_path()} (${TOKENS_ENV} overrides)."
        ),
    )
    login.add_argument("--client-id", help="your app's client id (default: $FRESHBOOKS_CLIENT_ID)")
    login.add_argument(
        "--client-secret",
        help="your app's client secret (default: $FRESHBOOKS_CLIENT_SECRET, which keeps it out "
        "of your shell history)",
    )
    login.add_argument(
        "--redirect-uri",
        help="the redirect URI registered for your app, on this machine (default: "
        f"$FRESHBOOKS_REDIRECT_URI or {DEFAULT_REDIRECT_URI}); port 0 picks a free port",
    )
    login.add_argument(
        "--authorize-url",
        help="the authorization endpoint (default: $FRESHBOOKS_AUTHORIZE_URL, FreshBooks' own, "
        "or <api url>/oauth/authorize when --api-url points at a sandbox on this machine)",
    )
    login.add_argument(
        "--scope", action="append", default=[], metavar="SCOPE", help="a scope (repeatable)"
    )
    login.add_argument("--open", action="store_true", help="also open the URL in a browser")
    login.add_argument(
        "--timeout",
        type=float,
        default=LOGIN_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the browser (default {LOGIN_TIMEOUT:.0f})",
    )
    commands.add_parser("logout", parents=[common], help="forget the kept token")
    commands.add_parser(
        "whoami", parents=[common], help="the logged-in user and their business accounts"
    )


# --- login -------------------------------------------------------------------------------------


def cmd_login(ctx: Context) -> int:
    from .context import UsageError

    a = ctx.args
    env = os.environ
    client_id = a.client_id or env.get("FRESHBOOKS_CLIENT_ID")
    client_secret = a.client_secret or env.get("FRESHBOOKS_CLIENT_SECRET")
    if not client_id or not client_secret:
        raise UsageError(
            "login needs your app's client id and secret: --client-id and --client-secret, or "
            "FRESHBOOKS_CLIENT_ID and FRESHBOOKS_CLIENT_SECRET (from your FreshBooks app's page)"
        )
    api_url = ctx.opt("api_url") or env.get("FRESHBOOKS_API_URL")
    authorize = a.authorize_url or env.get("FRESHBOOKS_AUTHORIZE_URL")
    if not authorize:
        sandbox = bool(api_url) and is_loopback(str(api_url))
        authorize = f"{str(api_url).rstrip('/')}/oauth/authorize" if sandbox else AUTHORIZE_URL
    redirect_uri = a.redirect_uri or env.get("FRESHBOOKS_REDIRECT_URI") or DEFAULT_REDIRECT_URI
    if not is_loopback(redirect_uri):
        raise UsageError(
            f"the redirect URI {redirect_uri!r} is not on this machine, so login cannot receive "
            "the browser's redirect: register a loopback one in your FreshBooks app (such as "
            f"{DEFAULT_REDIRECT_URI}) and pass it with --redirect-uri"
        )
    if a.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    state = secrets.token_urlsafe(24)
    store = FileTokenStore(default_token_path())
    with _Receiver(redirect_uri, state) as receiver:
        redirect_uri = receiver.redirect_uri  # with the real port when 0 was asked for
        try:
            url = authorization_url(
                client_id,
                redirect_uri,
                scopes=a.scope or None,
                state=state,
                authorize_url=authorize,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        ctx.print("Open this URL in a browser and approve the access:")
        ctx.print(f"  {url}")
        ctx.out.flush()
        if urlsplit(redirect_uri).scheme == "https":
            ctx.note(
                f"Waiting for the browser at {redirect_uri}. This receiver speaks plain http: if "
                "the browser cannot connect after you approve, change https to http in its "
                "address bar (as FreshBooks' docs suggest for local development)."
            )
        else:
            ctx.note(f"Waiting for the browser at {redirect_uri} ...")
        ctx.err.flush()
        if a.open:
            import webbrowser

            webbrowser.open(url)
        code = receiver.wait(a.timeout)
    token = exchange_code(
        code,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        base_url=api_url,
    )
    kept: dict[str, Any] = dict(token)
    kept.update(client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri)
    if api_url and api_url.rstrip("/") != DEFAULT_API_URL:
        kept["api_url"] = api_url
    if ctx.opt("account_id"):
        kept["account_id"] = ctx.opt("account_id")
    store.save(kept)
    ctx.note(f"Logged in; the token is kept in {store.path} (owner-only).")
    try:
        with make_client(account_id=ctx.opt("account_id"), api_url=api_url) as client:
            _print_identity(ctx, client.request("GET", ME_PATH))
    except AuthenticationError as exc:
        ctx.note(f"{PROG}: could not read the user: {exc}")
    return 0


class _Receiver:
    """A one-shot HTTP server on the loopback redirect URI that waits for ``code``."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        parts = urlsplit(redirect_uri)
        host = "127.0.0.1" if parts.hostname == "localhost" else (parts.hostname or "127.0.0.1")
        self._path = parts.path or "/"
        self._state = state
        self._results: queue.Queue[tuple[str, str]] = queue.Queue()
        handler = _handler(self._path, state, self._results.put)
        try:
            self._server = HTTPServer((host, parts.port or 0), handler)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot receive the redirect at {redirect_uri}: {exc.strerror or exc}"
            ) from None
        port = self._server.server_address[1]
        netloc = parts.netloc if parts.port else f"{parts.hostname}:{port}"
        self.redirect_uri = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def __enter__(self) -> _Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, timeout: float) -> str:
        """The authorization code, or a ``ConfigurationError`` (refused, timed out)."""
        try:
            kind, value = self._results.get(timeout=timeout)
        except queue.Empty:
            raise ConfigurationError(
                f"no answer from the browser within {timeout:.0f} seconds; run login again"
            ) from None
        if kind == "error":
            raise AuthenticationError(f"the authorization was not granted: {value}")
        return value


def _handler(path: str, state: str, deliver: Callable[[tuple[str, str]], None]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the query holds the authorization code."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != path:
                self._answer(404, "Not the login callback.")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if not secrets.compare_digest(query.get("state", ""), state):
                # Not from the authorization this login started (an old tab, another site):
                # refuse it and keep waiting for the right one.
                self._answer(400, "This answer does not belong to the login under way.")
                return
            if "error" in query:
                reason = query.get("error_description") or query["error"]
                deliver(("error", reason))
                self._answer(400, f"The authorization was not granted: {reason}")
                return
            if not query.get("code"):
                self._answer(400, "The answer carries no authorization code.")
                return
            deliver(("code", query["code"]))
            self._answer(200, "Logged in to FreshBooks. You can close this window.")

        def _answer(self, status: int, text: str) -> None:
            body = f"<!doctype html><title>freshbooks-orm login</title><p>{text}</p>\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    return Handler


# --- logout and whoami -------------------------------------------------------------------------


def cmd_logout(ctx: Context) -> int:
    store = FileTokenStore(default_token_path())
    if store.clear():
        ctx.print(f"Logged out: removed {store.path}")
    else:
        ctx.print(f"Not logged in (no {store.path})")
    return 0


def cmd_whoami(ctx: Context) -> int:
    client = ctx.client()
    _print_identity(ctx, client.request("GET", ME_PATH))
    ctx.print(f"credentials {_source(ctx, client)}")
    return 0


def _source(ctx: Context, client: Client) -> str:
    """Where this command's credentials came from (never the credentials themselves)."""
    if ctx.opt("sandbox"):
        return "the embedded sandbox"
    store = client.tokens.store
    if isinstance(store, FileTokenStore):
        expires = client.tokens.expires_at
        when = (
            f"; the access token expires {_dt.datetime.fromtimestamp(expires):%Y-%m-%d %H:%M}"
            if expires is not None
            else ""
        )
        return f"token file {store.path} (refreshed and saved as needed{when})"
    return "--access-token or FRESHBOOKS_ACCESS_TOKEN (never refreshed)"


def _print_identity(ctx: Context, body: Any) -> None:
    me = body.get("response") if isinstance(body, Mapping) else None
    if not isinstance(me, Mapping):
        raise AuthenticationError(f"{ME_PATH} answered without a user")
    name = " ".join(str(me[k]) for k in ("first_name", "last_name") if me.get(k))
    email = me.get("email")
    ctx.print(f"user      {name or '(no name)'}" + (f" <{email}>" if email else ""))
    if me.get("id") is not None:
        ctx.print(f"user id   {me['id']}")
    memberships = me.get("business_memberships")
    rows = []
    for membership in memberships if isinstance(memberships, list) else []:
        business = membership.get("business") if isinstance(membership, Mapping) else None
        if isinstance(business, Mapping):
            rows.append(
                (
                    str(business.get("account_id") or "-"),
                    str(business.get("name") or ""),
                    str(membership.get("role") or ""),
                )
            )
    ctx.print(f"businesses ({len(rows)}):")
    ctx.print(_table(("account_id", "name", "role"), [list(r) for r in rows]))


COMMANDS: dict[tuple[str, ...], Callable[[Context], int]] = {
    ("login",): cmd_login,
    ("logout",): cmd_logout,
    ("whoami",): cmd_whoami,
}
