"""Waking idle workers the moment a job is queued.

Each embedded worker binds a Unix datagram socket in ``<data-dir>/run/``; a submission
sends one byte to every socket there. Workers also poll on a timer, so a lost wake-up
only delays a job by ``idle_poll_seconds``, never loses it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from pathlib import Path


class WakeupBell:
    """The submitter's side: ring every worker's socket, never block, never fail."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._sock: socket.socket | None = None

    def ring(self) -> None:
        if not self.run_dir.is_dir():
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
        for path in self.run_dir.glob("worker-*.sock"):
            with contextlib.suppress(OSError):
                self._sock.sendto(b"!", str(path))


class WakeupListener:
    """The worker's side: wait until rung or until the timeout passes."""

    def __init__(self, run_dir: Path, name: str) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / f"worker-{name}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.path))
        self._sock.setblocking(False)

    def wait(self, timeout: float) -> None:
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if readable:
            self._drain()

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                self._sock.recv(64)

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
