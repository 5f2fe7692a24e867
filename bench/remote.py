"""An embedded sandbox in its own process, so serving never competes with the client for the GIL.

The wall-time benchmarks measure the client.  A ``Sandbox`` started in the benchmark's own
process would run its request handlers on threads of that process, and every page it renders
would take the GIL away from the contender being timed.  ``RemoteSandbox`` starts the sandbox
in a child process (``spawn``, so no threads are forked) and talks to it over a pipe.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

__all__ = ["RemoteSandbox"]


def _serve(conn: Connection, invoices: int, seed: int, all_live: bool) -> None:
    from freshbooks_orm.sandbox import Sandbox

    sb = Sandbox(invoices=invoices, seed=seed)
    if all_live:  # the seed soft-deletes a few; bring them back so "N invoices" means N rows
        for iid, inv in sb.invoices.items():
            if inv["vis_state"] == 1:
                sb.store.update(iid, {"vis_state": 0})
    sb.start()
    live = sum(1 for inv in sb.invoices.values() if inv["vis_state"] != 1)
    conn.send((sb.url, sb.access_token, sb.account_id, live))
    try:
        while True:
            command, arg = conn.recv()
            if command == "stop":
                break
            if command == "latency":
                sb.latency = float(arg)
                conn.send(None)
            elif command == "requests":  # (method, path, query, status) of each request so far
                conn.send([(r.method, r.path, r.query, r.status) for r in sb.requests])
            elif command == "clear":
                sb.requests.clear()
                conn.send(None)
            else:
                conn.send(ValueError(f"unknown command {command!r}"))
    finally:
        sb.stop()


class RemoteSandbox:
    """``Sandbox(invoices, seed)`` in a child process: ``url``, ``access_token``,
    ``account_id``, ``live`` (invoices a listing returns), ``set_latency()``, ``requests()``,
    ``clear()``.  ``all_live=True`` undeletes the few invoices the seed soft-deletes."""

    def __init__(self, invoices: int, seed: int = 1, all_live: bool = True) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child, invoices, seed, all_live), daemon=True
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

    def requests(self) -> list[tuple[str, str, tuple[tuple[str, str], ...], int]]:
        return list(self._ask("requests"))

    def clear(self) -> None:
        self._ask("clear")

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
