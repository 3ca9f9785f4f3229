"""Process plumbing for `serve`: children that die with their parent, one server per dir."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from pathlib import Path
from typing import IO

from epmjobs.errors import Conflict

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (kill -9 included)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold an exclusive lock for this server's lifetime; a second server is refused."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "serve.lock", "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise Conflict(f"Another epmjobs server is running on {data_dir}.") from exc
    return handle
