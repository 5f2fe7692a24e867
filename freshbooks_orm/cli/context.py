"""What a command runs with: its arguments, the client (or a throwaway sandbox), the journal,
output streams and confirmation."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from ..batch.journal import Journal
from ..errors import UsageError as LibraryUsageError
from ..http.transport import Client
from . import auth as cli_auth
from .parser import SANDBOX_INVOICES

__all__ = ["Context", "UsageError"]


class UsageError(LibraryUsageError):
    """A mistake in the command line: reported in one line, exit code 2."""


class Context:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO, stack: ExitStack):
        self.args = args
        self.out = out
        self.err = err
        self._stack = stack
        self._client: Client | None = None
        self._journal: Journal | None = None
        self.sandbox: Any = None
        self.throwaway_journal = False

    def opt(self, name: str, default: Any = None) -> Any:
        return getattr(self.args, name, default)

    def client(self) -> Client:
        if self._client is None:
            if self.opt("sandbox"):
                from ..sandbox import Sandbox

                self.sandbox = self._stack.enter_context(Sandbox(invoices=SANDBOX_INVOICES, seed=1))
                self.note(f"using a fresh embedded sandbox ({SANDBOX_INVOICES} invoices)")
                self._client = self.sandbox.client()
            else:
                # An explicit access token, else the token file of `login` (never a refresh
                # that could not be saved).
                self._client = cli_auth.make_client(
                    self.opt("access_token"), self.opt("account_id"), self.opt("api_url")
                )
            self._stack.callback(self._client.close)
        return self._client

    def journal(self) -> Journal:
        if self._journal is None:
            path = self.opt("journal")
            if (
                path is None
                and self.opt("sandbox")
                and not os.environ.get("FRESHBOOKS_ORM_JOURNAL")
            ):
                # A throwaway sandbox must not fill the user's journal with runs against it.
                tmp = self._stack.enter_context(tempfile.TemporaryDirectory())
                path = Path(tmp) / "journal.sqlite3"
                self.throwaway_journal = True
            self._journal = Journal(path)
            self._stack.callback(self._journal.close)
        return self._journal

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def progress(self) -> bool | None:
        return False if self.opt("no_progress") else None

    def confirm(self, question: str) -> bool:
        if self.opt("yes"):
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} -- refusing without --yes (no terminal to ask on)")
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")
