"""The CLI's terminal side: Rich progress on a terminal, plain lines otherwise.

Results go to stdout; progress, notes and errors to stderr, so ``--json`` output and
plain results can be piped. Needs ``rich`` and ``typer`` (installed with the CLI); the
client itself never imports this module.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from epmjobs.client.files import OnBytes
from epmjobs.client.handle import OnPoll
from epmjobs.client.models import JobResult


def _ignore(*_: object) -> None:
    return None


class Display:
    """Where and how one CLI command reports."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    @property
    def live(self) -> bool:
        """Animated progress: stderr is a terminal and JSON was not asked for."""
        return not self.as_json and sys.stderr.isatty()

    @property
    def interactive(self) -> bool:
        """A person can answer a question: stdin and stderr are terminals."""
        return sys.stdin.isatty() and sys.stderr.isatty()

    def _console(self) -> Console:
        return Console(file=sys.stderr, highlight=False)

    # -- results (stdout) ------------------------------------------------------------------

    def result(self, text: str, data: Any = None) -> None:
        """The command's result: ``data`` as JSON with --json, else ``text``."""
        if self.as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
        elif text:
            typer.echo(text)

    def note(self, text: str) -> None:
        """A remark for the person at the terminal (stderr, not in --json mode)."""
        if not self.as_json:
            typer.echo(text, err=True)

    def error(self, message: str, code: int, kind: str, extra: dict[str, Any]) -> None:
        typer.echo(f"error: {message}", err=True)
        if self.as_json:
            typer.echo(json.dumps({"error": {"type": kind, "message": message,
                                             "exitCode": code, **extra}}, indent=2))

    def confirm(self, question: str) -> bool:
        """Ask yes/no when someone can answer; False otherwise (or on Ctrl-C/EOF)."""
        if not self.interactive:
            return False
        try:
            return typer.confirm(question, default=False, err=True)
        except (typer.Abort, KeyboardInterrupt, EOFError):
            typer.echo("", err=True)
            return False

    # -- progress (stderr) -----------------------------------------------------------------

    @contextmanager
    def job_progress(self, label: str) -> Iterator[OnPoll]:
        """A callback for ``JobHandle.wait(on_poll=…)`` showing status and elapsed time."""
        if self.as_json:
            yield _ignore
            return
        if not self.live:
            seen: list[str] = []

            def line(record: JobResult, elapsed: float) -> None:
                if seen[-1:] != [record.descriptive_status]:
                    seen.append(record.descriptive_status)
                    typer.echo(f"{label}: {record.descriptive_status} ({elapsed:.1f} s)",
                               err=True)

            yield line
            return
        progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                            console=self._console(), transient=True)
        task = progress.add_task(label, total=None, status="Submitted")

        def update(record: JobResult, elapsed: float) -> None:
            progress.update(task, status=f"{record.descriptive_status} "
                                         f"(status {record.status})")

        with progress:
            yield update

    @contextmanager
    def transfer(self, label: str) -> Iterator[OnBytes]:
        """A callback for upload/download progress: a bar on a terminal, else silent."""
        if not self.live:
            yield _ignore
            return
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                            console=self._console(), transient=True)
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        with progress:
            yield update
