"""The benchmark server: the embedded sandbox behind a page cache, in a process of its own.

What the timed benchmarks measure is the client.  Two things would blur it:

* a server in the client's process runs its handlers on threads of that process, takes the GIL
  from the contender being timed and bills its work to the client's CPU time;
* a server that renders every page on every request (the sandbox filters, sorts and serialises
  its store each time) makes the wall time half server work, so client-side differences show
  at half their size and machine load decides pass or fail.

``RemoteSandbox`` therefore starts, in a child process (``spawn``: no threads are forked), the
sandbox *and* a small front server that answers from pre-rendered pages: the first time a GET
is seen (the warm-up round of every benchmark) the front asks the sandbox and keeps the bytes;
every later identical GET is answered from memory, after the configured latency.  Writes
(PUT, POST, DELETE) go to the sandbox and empty the cache, so a page is never stale.
``misses()`` counts the pages rendered, so a benchmark can show that its timed runs rendered
none.
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["RemoteSandbox"]

_HOP_HEADERS = ("Authorization", "Content-Type", "Accept", "User-Agent")


class _Front(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, upstream: tuple[str, int], cache: bool) -> None:
        self.upstream = upstream
        self.use_cache = cache
        self.latency = 0.0
        self.cache: dict[tuple[str, str | None], tuple[int, bytes, str]] = {}
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, tuple[tuple[str, str], ...], int, bool]] = []
        self.misses = 0
        self.local = threading.local()
        super().__init__(("127.0.0.1", 0), _FrontHandler)

    def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        for attempt in (1, 2):
            if conn is None:
                conn = http.client.HTTPConnection(*self.upstream, timeout=60)
                self.local.conn = conn
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, data, response.getheader("Content-Type") or ""
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                self.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class _FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Front

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        front = self.server
        method = self.command
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length and length.isdigit() else b""
        key = (self.path, self.headers.get("Authorization"))
        hit = False
        answer: tuple[int, bytes, str] | None = None
        if method == "GET" and front.use_cache:
            with front.lock:
                answer = front.cache.get(key)
            hit = answer is not None
        if not hit:
            headers = {h: v for h in _HOP_HEADERS if (v := self.headers.get(h)) is not None}
            answer = front.forward(method, self.path, body, headers)
            with front.lock:
                front.misses += 1
                if method != "GET":
                    front.cache.clear()
                elif answer[0] == 200 and front.use_cache:
                    front.cache[key] = answer
        assert answer is not None
        split = urlsplit(self.path)
        with front.lock:
            front.log.append(
                (method, split.path, tuple(parse_qsl(split.query, True)), answer[0], hit)
            )
        if front.latency > 0:
            time.sleep(front.latency)
        status, data, ctype = answer
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(conn: Connection, invoices: int, seed: int, all_live: bool, cache: bool) -> None:
    from freshbooks_orm.sandbox import Sandbox

    sb = Sandbox(invoices=invoices, seed=seed)
    if all_live:  # the seed soft-deletes a few; bring them back so "N invoices" means N rows
        for iid, inv in sb.invoices.items():
            if inv["vis_state"] == 1:
                sb.store.update(iid, {"vis_state": 0})
    sb.start()
    split = urlsplit(sb.url)
    front = _Front((split.hostname or "127.0.0.1", split.port or 80), cache)
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{front.server_address[1]}"
    live = sum(1 for inv in sb.invoices.values() if inv["vis_state"] != 1)
    conn.send((url, sb.access_token, sb.account_id, live))
    try:
        while True:
            command, arg = conn.recv()
            if command == "stop":
                break
            if command == "latency":
                front.latency = float(arg)
                conn.send(None)
            elif command == "requests":  # (method, path, query, status, from cache) so far
                with front.lock:
                    conn.send(list(front.log))
            elif command == "clear":
                with front.lock:
                    front.log.clear()
                conn.send(None)
            elif command == "misses":
                conn.send(front.misses)
            elif command == "cpu":
                conn.send(time.process_time())
            else:
                conn.send(ValueError(f"unknown command {command!r}"))
    finally:
        front.shutdown()
        front.server_close()
        sb.stop()


class RemoteSandbox:
    """``Sandbox(invoices, seed)`` behind a page cache, in a child process: ``url`` (the
    front), ``access_token``, ``account_id``, ``live`` (invoices a listing returns),
    ``set_latency()``, ``requests()``, ``clear()``, ``misses()`` (requests the sandbox itself
    answered) and ``server_cpu()`` (the child's CPU seconds so far).  ``all_live=True``
    undeletes the few invoices the seed soft-deletes; ``cache=False`` forwards every request
    (for benchmarks that write)."""

    def __init__(
        self, invoices: int, seed: int = 1, all_live: bool = True, cache: bool = True
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child, invoices, seed, all_live, cache), daemon=True
        )
        self._process.start()
        child.close()
        self.url, self.access_token, self.account_id, self.live = self._conn.recv()

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def set_latency(self, seconds: float) -> None:
        self._ask("latency", seconds)

    def requests(self) -> list[tuple[str, str, tuple[tuple[str, str], ...], int, bool]]:
        return list(self._ask("requests"))

    def clear(self) -> None:
        self._ask("clear")

    def misses(self) -> int:
        return int(self._ask("misses"))

    def server_cpu(self) -> float:
        return float(self._ask("cpu"))

    def client(self, **kwargs: Any) -> Any:
        from freshbooks_orm import Client

        return Client(
            access_token=self.access_token,
            account_id=self.account_id,
            base_url=self.url,
            **kwargs,
        )

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(("stop", None))
            except OSError:
                pass
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
