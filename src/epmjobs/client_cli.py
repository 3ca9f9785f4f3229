"""EPM Automate-style verbs of the `epmjobs` command (the [client-cli] issue fills this)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the client verbs (login, runBusinessRule, uploadFile, ...) to the CLI."""
