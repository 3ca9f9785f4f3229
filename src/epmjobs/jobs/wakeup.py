"""Waking idle workers the moment a job is queued.

Each embedded worker binds a Unix datagram socket in a short folder of the system's
temporary directory keyed by the data directory (``socket_dir``); a submission sends one
byte to every socket there. Workers also poll on a timer, so a lost wake-up
only delays a job by ``idle_poll_seconds``, never loses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import socket
import tempfile
import time
from pathlib import Path

log = logging.getLogger("epmjobs.worker")
_LIST_EVERY = 1.0


def socket_dir(run_dir: Path) -> Path:
    """Where the sockets of one installation live: a short path, since Unix caps socket
    paths near 107 bytes and data directories can be deep."""
    key = hashlib.sha1(str(run_dir.resolve()).encode(), usedforsecurity=False).hexdigest()
    return Path(tempfile.gettempdir()) / f"epmjobs-{key[:12]}"


class WakeupBell:
    """The submitter's side: ring every worker's socket, never block, never fail."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = socket_dir(run_dir)
        self._sock: socket.socket | None = None
        self._targets: frozenset[Path] = frozenset()
        self._listed_at = -1.0

    def ring(self) -> None:
        """Wake every worker. The folder is listed at most once a second (submissions
        come in bursts); a worker started since then is woken by its own timer."""
        now = time.monotonic()
        if now - self._listed_at > _LIST_EVERY:
            self._listed_at = now
            self._targets = (frozenset(self.run_dir.glob("worker-*.sock"))
                             if self.run_dir.is_dir() else frozenset())
        if not self._targets:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        for path in self._targets:  # an immutable set: rings run on several threads at once
            try:
                self._sock.sendto(b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):  # its worker is gone
                self._targets = self._targets - {path}
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                pass


class WakeupListener:
    """The worker's side: wait until rung or until the timeout passes.

    Socket paths are short digests (Unix caps them near 107 bytes); if binding still
    fails, the worker falls back to polling on the timer alone.
    """

    def __init__(self, run_dir: Path, name: str) -> None:
        run_dir = socket_dir(run_dir)
        run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:16]
        self.path = run_dir / f"worker-{digest}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(str(self.path))
            self._sock.setblocking(False)
        except OSError as exc:
            log.warning("no wake-up socket at %s (%s); polling every idle interval",
                        self.path, exc)
            self._sock.close()
            self._sock = None

    def wait(self, timeout: float) -> None:
        if self._sock is None:
            time.sleep(timeout)
            return
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if readable:
            self._drain()

    def _drain(self) -> None:
        assert self._sock is not None
        with contextlib.suppress(BlockingIOError):
            while True:
                self._sock.recv(64)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
