"""The sandbox's HTTP layer: routing, auth, fault injection, request recording."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .auth import AUTHORIZE_PATH, OAuthError, TokenRegistry
from .resources import REGISTRY, Resource
from .store import Store, StoreError, Table, dumps, not_found, parse_includes, parse_list_query

__all__ = [
    "DROP",
    "ROUTES",
    "AppState",
    "Fault",
    "FaultQueue",
    "Reply",
    "SandboxServer",
    "dispatch",
]

DROP = "drop"
TOKEN_PATH = "/auth/oauth/token"
ME_PATH = "/auth/api/v1/users/me"
_SECRET_FIELDS = ("client_secret", "refresh_token", "code", "access_token")
UNAUTHORIZED = "The server could not verify that you are authorized to access the URL requested."
#: The route table: ``<path>`` under ``/accounting/account/<account_id>/`` -> its resource.
ROUTES: dict[str, Resource] = {res.path: res for res in REGISTRY.values()}
_DEFAULT_ERRNO = {400: 1004, 403: 1003, 404: 1012, 409: 1004, 422: 1004}


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(obj), "application/json", dict(headers or {}))


def error_reply(err: StoreError) -> Reply:
    return json_reply(err.status, err.envelope())


def default_error_body(status: int, path: str = "") -> dict[str, Any]:
    """The envelope ``fail_next(status)`` sends when no body is given."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if status == 401:
        return unauthorized_body(path, phrase)
    errno = _DEFAULT_ERRNO.get(status, 1000)
    return StoreError(status, errno, None, phrase, None, None).envelope()


@dataclass
class Fault:
    status: int | str
    body: dict[str, Any] | str | None
    headers: dict[str, str]
    remaining: int
    method: str | None

    def reply(self, path: str = "") -> Reply:
        assert isinstance(self.status, int)
        if self.body is None:
            return json_reply(self.status, default_error_body(self.status, path), self.headers)
        if isinstance(self.body, str):
            ctype = "text/html" if self.body.lstrip().startswith("<") else "text/plain"
            return Reply(self.status, self.body.encode(), f"{ctype}; charset=utf-8", self.headers)
        return json_reply(self.status, self.body, self.headers)


class FaultQueue:
    """Injected failures, consumed in order by matching requests.  Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def push(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.method is None or fault.method == method:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[i]
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


Query = tuple[tuple[str, str], ...]
Recorder = Callable[[str, str, Query, Any, int, "dict[str, str] | None"], None]


@dataclass
class AppState:
    """Everything the request handler needs; owned by :class:`~.Sandbox`."""

    stores: dict[str, Store]
    tokens: TokenRegistry
    faults: FaultQueue
    identity: dict[str, Any]
    record: Recorder
    latency: Callable[[], float]
    ignored_filters: Callable[[], frozenset[str]] = frozenset
    vis_state_reply: Callable[[], str] = lambda: "empty"


# --------------------------------------------------------------------------- routing


def _redact(params: dict[str, Any]) -> dict[str, str]:
    return {k: ("***" if k in _SECRET_FIELDS else str(v)) for k, v in params.items()}


def _token_endpoint(app: AppState, params: dict[str, Any] | None) -> Reply:
    if params is None:
        err = OAuthError(400, "invalid_request", "The request body could not be parsed.")
        return json_reply(err.status, err.body())
    try:
        return json_reply(200, app.tokens.grant(params))
    except OAuthError as err:
        return json_reply(err.status, err.body())


def unauthorized_body(path: str, description: str) -> dict[str, Any]:
    """A 401 body: the accounting envelope (errno 1003), or the identity endpoint's own shape."""
    if path.rstrip("/") == ME_PATH:
        return {"error": "unauthenticated", "error_description": description}
    return StoreError(401, 1003, None, f"{UNAUTHORIZED} {description}", None, None).envelope()


def _route(path: str) -> tuple[Resource, str, str | None] | None:
    """``(resource, account id, object id or None)`` for an accounting path, else None."""
    parts = path.split("/")
    if len(parts) not in (6, 7) or parts[1:3] != ["accounting", "account"] or not parts[3]:
        return None
    res = ROUTES.get(f"{parts[4]}/{parts[5]}")
    if res is None:
        return None
    return res, parts[3], parts[6] if len(parts) == 7 else None


def _authorize_endpoint(app: AppState, method: str, query: Query) -> Reply:
    """``GET /oauth/authorize``: approve at once and redirect (302) with ``code`` and ``state``."""
    if method not in ("GET", "HEAD"):
        return _method_not_allowed(method, "GET")
    try:
        location = app.tokens.authorize(dict(query))
    except OAuthError as err:
        return json_reply(err.status, err.body())
    return Reply(302, b"", "text/plain", {"Location": location})


def dispatch(
    app: AppState,
    method: str,
    path: str,
    query: tuple[tuple[str, str], ...],
    auth_header: str | None,
    body: Any,
    body_ok: bool,
    body_problem: str = "The request body is not valid JSON.",
) -> Reply:
    """Answer one (non-injected) request.  ``body`` is the parsed JSON body (or form dict);
    when ``body_ok`` is false, accounting endpoints answer 400 errno 1005 ``body_problem``."""
    path = path.rstrip("/") or "/"
    if path == AUTHORIZE_PATH:
        return _authorize_endpoint(app, method, query)
    if path == TOKEN_PATH:
        if method != "POST":
            return _method_not_allowed(method, "POST")
        return _token_endpoint(app, body if body_ok and isinstance(body, dict) else None)
    is_me = path == ME_PATH
    route = None if is_me else _route(path)
    if not is_me and route is None:
        return json_reply(
            404,
            StoreError(404, 1012, None, "Not found.", path, None).envelope(),
        )
    problem = app.tokens.check_bearer(auth_header)
    if problem is not None:
        return json_reply(401, unauthorized_body(path, problem))
    if route is None:
        if method != "GET":
            return _method_not_allowed(method, "GET")
        return json_reply(200, {"response": app.identity})
    res, account, oid = route
    store = app.stores.get(account)
    try:
        if store is None:
            raise not_found("account", "accountid", account)
        if not body_ok:
            raise StoreError(400, 1005, None, body_problem, None, None)
        table = store.tables[res.name]
        if oid is None:
            return _collection(app, table, method, query, body)
        if not (oid.isdigit() and len(oid) <= 12):
            raise not_found(res.noun, res.pk, oid)
        return _member(app, table, method, int(oid), query, body)
    except StoreError as err:
        return error_reply(err)


def _method_not_allowed(method: str, allowed: str) -> Reply:
    env = StoreError(405, 1000, None, "Method not allowed.", method, None).envelope()
    return json_reply(405, env, {"Allow": allowed})


def _single(table: Table, oid: int, query: tuple[tuple[str, str], ...]) -> Reply:
    obj = table.render(oid, parse_includes(query, table.res))
    return json_reply(200, {"response": {"result": {table.res.single: obj}}})


def _collection(
    app: AppState, table: Table, method: str, query: tuple[tuple[str, str], ...], body: Any
) -> Reply:
    res = table.res
    if method == "GET":
        parsed = parse_list_query(query, app.ignored_filters(), res)
        return json_reply(200, {"response": {"result": table.list_result(parsed)}})
    if res.read_only:
        return _method_not_allowed(method, "GET")
    if method == "POST":
        obj = table.create(table.body_of(body))
        return _single(table, obj["id"], query)
    return _method_not_allowed(method, "GET, POST")


def _member(
    app: AppState,
    table: Table,
    method: str,
    oid: int,
    query: tuple[tuple[str, str], ...],
    body: Any,
) -> Reply:
    res = table.res
    allowed = "GET" if res.read_only else "GET, PUT, DELETE" if res.http_delete else "GET, PUT"
    if method == "GET":
        return _single(table, oid, query)
    if method == "PUT" and not res.read_only:
        with table.store.lock:
            table.require(oid)  # 404 before body validation
        _, state_only = table.update(oid, table.body_of(body))
        if state_only and app.vis_state_reply() == "empty":
            return json_reply(200, {"response": {}})
        return _single(table, oid, query)
    if method == "DELETE" and res.http_delete:
        table.delete(oid)
        return json_reply(200, {"response": {}})
    return _method_not_allowed(method, allowed)


# --------------------------------------------------------------------------- HTTP plumbing

#: Deepest JSON nesting a request body may have (FreshBooks bodies are 4 levels deep).
MAX_JSON_DEPTH = 64


class _BodyError(Exception):
    def __init__(self, status: int, errno: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = StoreError(status, errno, None, message, None, None)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` for a body FreshBooks would refuse to parse.

    Refused: malformed JSON, ``NaN``/``Infinity``, integers of more than 4300 digits, nesting
    deeper than :data:`MAX_JSON_DEPTH` (also when it would exhaust Python's recursion limit).
    """
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        return None, f"The request body is nested more than {MAX_JSON_DEPTH} levels deep."
    except ValueError as exc:  # also UnicodeDecodeError and int digit limits
        if "digits" in str(exc):
            return None, "The request body holds a number too large to parse."
        return None, "The request body is not valid JSON."
    if _too_deep(value, MAX_JSON_DEPTH):
        return None, f"The request body is nested more than {MAX_JSON_DEPTH} levels deep."
    return value, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FreshBooksSandbox/1.0"
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: no per-request logging to stderr."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def setup(self) -> None:
        super().setup()
        # An idle keep-alive connection or a stalled read ends after idle_timeout seconds.
        self.connection.settimeout(self.server.idle_timeout)

    def _read_body(self) -> bytes:
        """The request body: by Content-Length, or chunked; :class:`_BodyError` if refused."""
        limit = self.server.max_body
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        length = self.headers.get("Content-Length")
        if te:
            if te != "chunked":
                raise _BodyError(501, 1000, f"Transfer-Encoding {te!r} is not supported.")
            return self._read_chunked(limit)
        if length is None:
            return b""
        length = length.strip()
        if not length.isdigit() or len(length) > 18:
            raise _BodyError(400, 1004, "Invalid Content-Length.")
        size = int(length)
        if size > limit:
            raise _BodyError(413, 1000, f"The request body is larger than {limit} bytes.")
        data = self.rfile.read(size) if size else b""
        if len(data) < size:
            raise _BodyError(400, 1004, "The request body is shorter than its Content-Length.")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1026)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not size_text or len(size_text) > 8:
                raise _BodyError(400, 1004, "Malformed chunked request body.")
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BodyError(400, 1004, "Malformed chunked request body.") from None
            if size == 0:
                break
            if len(out) + size > limit:
                raise _BodyError(413, 1000, f"The request body is larger than {limit} bytes.")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.read(2) != b"\r\n":
                raise _BodyError(400, 1004, "Malformed chunked request body.")
            out += chunk
        for _ in range(100):  # trailer fields, up to the blank line
            line = self.rfile.readline(8194)
            if line in (b"\r\n", b"\n", b""):
                return bytes(out)
        raise _BodyError(400, 1004, "Malformed chunked request body.")

    def _refuse(self, method: str, path: str, query: Query, status: int, reply: Reply) -> None:
        """Answer before (or instead of) reading the body, then close the connection."""
        self.server.app.record(method, path, query, None, status, None)
        self.close_connection = True
        reply.headers["Connection"] = "close"
        try:
            self._send(reply, head=method == "HEAD")
        except OSError:
            pass

    def _handle(self) -> None:
        app = self.server.app
        method = self.command
        split = urlsplit(self.path)
        path = split.path
        query = tuple(parse_qsl(split.query, keep_blank_values=True))
        try:
            raw = self._read_body()
        except _BodyError as err:
            self._refuse(method, path, query, err.status, error_reply(err.error))
            return
        except TimeoutError:
            late = _BodyError(408, 1000, "The request body did not arrive in time.")
            self._refuse(method, path, query, 408, error_reply(late.error))
            return
        is_token = path.rstrip("/") == TOKEN_PATH
        body: Any = None
        body_ok = True
        problem: str | None = None
        recorded_json: Any = None
        form: dict[str, str] | None = None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if raw:
            if is_token and ctype != "application/json":
                body = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            else:
                body, problem = parse_json(raw)
                if problem is None:
                    recorded_json = body
                else:
                    body_ok = False
        if is_token and isinstance(body, dict):
            form = _redact(body)
            if recorded_json is not None:
                recorded_json = dict(form)

        latency = app.latency()
        if latency > 0:
            time.sleep(latency)
        fault = app.faults.take(method)
        if fault is not None and fault.status == DROP:
            app.record(method, path, query, recorded_json, 0, form)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None:
            reply = fault.reply(path)
        else:
            try:
                reply = dispatch(
                    app,
                    method,
                    path,
                    query,
                    self.headers.get("Authorization"),
                    body,
                    body_ok,
                    problem or "The request body is not valid JSON.",
                )
            except Exception as exc:  # pragma: no cover - a sandbox bug; answer, don't hang
                env = StoreError(500, 1000, None, f"Sandbox error: {exc!r}", None, None)
                reply = error_reply(env)
        app.record(method, path, query, recorded_json, reply.status, form)
        self._send(reply, head=method == "HEAD")

    def _send(self, reply: Reply, head: bool) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that can cut its keep-alive connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops bursts of concurrent connections (20 threads, a
    # batch with 8 workers), which the client then retries after a second.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: AppState,
        *,
        idle_timeout: float = 30.0,
        max_connections: int = 64,
        max_body: int = 4 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_body = max_body
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, at most ``max_connections`` at once: beyond that the
        connection is answered 503 (with ``Retry-After``) and closed, never queued forever."""
        with self._conns_lock:
            full = len(self._conns) >= self.max_connections
            if not full:
                self._conns.add(request)
        if full:
            self._busy(request)
            return
        super().process_request(request, client_address)

    def _busy(self, request: socket.socket) -> None:
        body = dumps(StoreError(503, 1000, None, "Too many connections.", None, None).envelope())
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: clients that hang up mid-request are normal in tests."""

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
