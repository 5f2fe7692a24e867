"""Token stores: where a token lives between runs, shared safely by several processes.

A token is the token response dict (``access_token``, ``refresh_token``, ``expires_in``,
``created_at``, ...).  FreshBooks refresh tokens work once, so every process using one login
must share one *refresh chain*: whoever refreshes first saves the new pair, and the others pick
it up instead of spending the dead refresh token.  ``Client(token_store=...)`` does exactly that:
it re-reads the store before refreshing and after an ``invalid_grant``, and refreshes while
holding the store's lock (when the store has one).

* ``TokenStore`` is the protocol: ``load()`` and ``save(token)``.  Implement it for a database or
  a secrets manager; add a ``lock()`` context manager (``LockingTokenStore``) when the backend can
  lock across processes, so that only one process refreshes at a time.
* ``FileTokenStore(path)`` keeps the token as JSON in one file: every load and save happens
  under an exclusive lock on ``<path>.lock`` (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
  Windows), a save writes a temporary file and renames it over the old one (readers see the old
  token or the new one, never half of either), and the file is created owner-only (``0600``, its
  new directories ``0700``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from ..errors import ConfigurationError

__all__ = ["FileTokenStore", "LockingTokenStore", "TokenStore", "default_token_path"]

log = logging.getLogger("freshbooks_orm")

#: Environment variable naming the command line's token file.
TOKENS_ENV = "FRESHBOOKS_ORM_TOKENS"


@runtime_checkable
class TokenStore(Protocol):
    """Somewhere a token survives between runs: ``load()`` it, ``save(token)`` it."""

    def load(self) -> dict[str, Any] | None:
        """The stored token dict, or None when nothing is stored."""

    def save(self, token: Mapping[str, Any]) -> None:
        """Replace the stored token (atomically: readers see the old token or the new one)."""


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A token store that can also lock across processes while a refresh is under way."""

    def lock(self) -> AbstractContextManager[None]:
        """Hold an exclusive cross-process lock (re-entrant within one store object)."""


def default_token_path() -> Path:
    """Where the command line keeps its token: ``$FRESHBOOKS_ORM_TOKENS``, else
    ``tokens.json`` in the user's config directory (``$XDG_CONFIG_HOME/freshbooks_orm``, default
    ``~/.config/freshbooks_orm``; ``%APPDATA%\\freshbooks_orm`` on Windows;
    ``~/Library/Application Support/freshbooks_orm`` on macOS)."""
    override = os.environ.get(TOKENS_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "freshbooks_orm" / "tokens.json"


class FileTokenStore:
    """A token kept as JSON in one owner-only file, locked across processes.

    >>> store = FileTokenStore("/tmp/does-not-exist/tokens.json")
    >>> store
    <FileTokenStore '/tmp/does-not-exist/tokens.json'>
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_file: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"<FileTokenStore {str(self.path)!r}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    # --- locking --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the exclusive lock on ``<path>.lock``; re-entrant within this object."""
        with self._thread_lock:
            if self._depth == 0:
                self._ensure_dir()
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                handle: IO[bytes] = os.fdopen(fd, "r+b")
                try:
                    _lock_file(handle)
                except BaseException:
                    handle.close()
                    raise
                self._lock_file = handle
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_file is not None:
                    handle, self._lock_file = self._lock_file, None
                    try:
                        _unlock_file(handle)
                    finally:
                        handle.close()

    # --- load and save ------------------------------------------------------------------------

    def load(self) -> dict[str, Any] | None:
        """The stored token, or None when the file does not exist (or holds ``null``)."""
        if not self.path.exists():
            return None  # and create nothing: reading must not leave a directory behind
        with self.lock():
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            self._warn_if_exposed()
        try:
            token = json.loads(text)
        except ValueError:
            # Never quote the content: it may be a token.
            raise ConfigurationError(
                f"the token file {self.path} is not valid JSON; delete it and log in again"
            ) from None
        if token is None:
            return None
        if not isinstance(token, dict):
            raise ConfigurationError(
                f"the token file {self.path} does not hold a token (a JSON object); delete it "
                "and log in again"
            )
        return token

    def save(self, token: Mapping[str, Any]) -> None:
        """Write ``token`` to a temporary file beside the store and rename it into place."""
        data = json.dumps(dict(token), indent=2, sort_keys=True).encode()
        with self.lock():
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "wb") as f:
                    if hasattr(os, "fchmod"):
                        os.fchmod(f.fileno(), 0o600)
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(self.path.parent)

    def clear(self) -> bool:
        """Delete the stored token; return whether there was one."""
        with self.lock():
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
            return True

    # --- helpers ------------------------------------------------------------------------------

    def _ensure_dir(self) -> None:
        parent = self.path.parent
        if not parent.is_dir():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _warn_if_exposed(self) -> None:
        if sys.platform == "win32":
            return
        mode = self.path.stat().st_mode
        if mode & 0o077:
            log.warning(
                "the token file %s is readable by other users (mode %o); it is rewritten "
                "owner-only at the next refresh, or run: chmod 600 %s",
                self.path,
                mode & 0o777,
                self.path,
            )


if sys.platform == "win32":  # pragma: no cover - not exercised by CI (no Windows runner)
    import msvcrt

    def _lock_file(handle: IO[bytes]) -> None:
        # LK_LOCK retries for about 10 seconds and then raises; keep waiting like flock does.
        while True:
            try:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.1)

    def _unlock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

    def _fsync_dir(path: Path) -> None:
        """Windows cannot open a directory to fsync it; ``os.replace`` is atomic there."""

else:
    import fcntl

    def _lock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _fsync_dir(path: Path) -> None:
        """Make the rename itself durable (a crash right after a save keeps the new token)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
