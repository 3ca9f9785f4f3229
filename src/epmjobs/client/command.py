"""What every client verb of the CLI shares (the verbs themselves are in ``client_cli``).

The session from the login profile, ``NAME=VALUE`` parameters, running a job with
progress and an offer to cancel on Ctrl-C, and errors turned into the documented exit
codes with the server's own message. Needs typer and rich, like the rest of the CLI.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
import typer
from typer.core import TyperCommand

from epmjobs.client import exitcodes as codes
from epmjobs.client import profile as profiles
from epmjobs.client.console import Display
from epmjobs.client.epmclient import EpmClient
from epmjobs.client.errors import EpmError, ExtensionUnavailable, ProfileError
from epmjobs.client.handle import JobHandle
from epmjobs.client.http import RetryPolicy
from epmjobs.client.models import JobResult

_CLICK_USAGE_EXIT = 2


@dataclass
class Wiring:
    """What the verbs connect through; tests pass one as the Click context's ``obj``."""

    transport: httpx.BaseTransport | None = None
    retry: RetryPolicy | None = None


class Verb(TyperCommand):
    """A client verb: command-line usage errors exit with EPM Automate's 7, not Click's 2."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:
            if getattr(exc, "exit_code", None) == _CLICK_USAGE_EXIT:
                exc.exit_code = int(codes.ExitCode.USAGE)
            raise


class UsageProblem(Exception):
    """The command line is wrong in a way only the verb can tell (exit 7)."""


def usage(message: str) -> NoReturn:
    raise UsageProblem(message)


def parameters(args: list[str], file_param: str | None = None) -> dict[str, Any]:
    """``NAME=VALUE`` (a string) and ``NAME:=JSON`` pairs; one bare ``FILE`` if allowed."""
    found: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key.endswith(":") and len(key) > 1:
            try:
                found[key[:-1]] = json.loads(value)
            except ValueError:
                usage(f"{arg!r}: the value after := must be JSON.")
        elif sep and key:
            found[key] = value
        elif file_param and not sep and file_param not in found:
            found[file_param] = arg
        else:
            usage(f"Expected NAME=VALUE, got {arg!r}.")
    return found


def run(display: Display, body: Callable[[], int | None]) -> NoReturn:
    """Run a verb's body; print errors as the server worded them; exit with the code."""
    extra: dict[str, Any] = {}
    try:
        code = int(body() or 0)
    except EpmError as exc:
        code = codes.for_error(exc)
        extra["httpStatus"] = getattr(exc, "status_code", None)
        if isinstance(job := getattr(exc, "job", None), JobResult):
            extra["job"] = dict(job.raw)
        display.error(exc.message, code, type(exc).__name__, extra)
    except UsageProblem as exc:
        code = codes.ExitCode.USAGE
        display.error(str(exc), code, "UsageError", extra)
    except OSError as exc:
        code = codes.ExitCode.FAILED
        where = f": {exc.filename}" if exc.filename else ""
        display.error(f"{exc.strerror or exc}{where}", code, "OSError", extra)
    except KeyboardInterrupt:
        code = codes.ExitCode.INTERRUPTED
        display.error("interrupted.", code, "KeyboardInterrupt", extra)
    raise typer.Exit(code)


def client_for(ctx: typer.Context, profile: profiles.Profile) -> EpmClient:
    """A client for ``profile``, through the transport a test wired in (if any)."""
    wiring = ctx.find_root().obj
    if not isinstance(wiring, Wiring):
        wiring = Wiring()
    try:
        return profile.client(transport=wiring.transport, retry=wiring.retry)
    except ValueError as exc:  # an unusable URL
        raise ProfileError(f"{exc}; give the service URL, e.g. https://host.") from exc


@contextlib.contextmanager
def session(ctx: typer.Context) -> Iterator[tuple[EpmClient, profiles.Profile]]:
    """The client of the current login (profile file and EPMJOBS_* overrides)."""
    profile = profiles.current()
    with client_for(ctx, profile) as client:
        yield client, profile


Action = Callable[[EpmClient, profiles.Profile, Display], "int | None"]


def call(ctx: typer.Context, as_json: bool, action: Action) -> NoReturn:
    """Run a verb's ``action`` with the login's client; errors become exit codes."""
    display = Display(as_json)

    def body() -> int | None:
        with session(ctx) as (client, profile):
            return action(client, profile, display)

    run(display, body)


def application(client: EpmClient, profile: profiles.Profile, chosen: str | None) -> str:
    """--app, else the profile's, else the server's only application (as on a pod)."""
    if chosen or profile.app:
        return chosen or profile.app or ""
    names = [a.name for a in client.applications()]
    if len(names) == 1:
        return names[0]
    usage(f"Choose the application with --app (the server has: {', '.join(names) or 'none'}).")


def describe(result: JobResult, elapsed: float | None = None) -> str:
    took = f" after {elapsed:.1f} s" if elapsed is not None else ""
    text = f"Job {result.job_id} {result.descriptive_status} (status {result.status}){took}"
    return f"{text}: {result.details}" if result.details else text


def wait(display: Display, handle: JobHandle, label: str, timeout: float | None,
         cancel: bool) -> JobResult:
    """Wait with progress; on Ctrl-C offer to cancel the job, then re-raise."""
    try:
        with display.job_progress(label) as on_poll:
            return handle.wait(timeout, cancel_on_timeout=cancel, on_poll=on_poll)
    except KeyboardInterrupt:
        if not display.confirm(f"Cancel job {handle.job_id} on the server?"):
            display.note(f"Job {handle.job_id} keeps running; follow it with "
                         f"`epmjobs getJobStatus {handle.job_id}`.")
            raise
        try:
            handle.cancel()
            with contextlib.suppress(EpmError):
                handle.wait(30)
            display.note(describe(handle.last))
        except ExtensionUnavailable as exc:
            display.note(f"{exc.message} Job {handle.job_id} keeps running.")
        raise


def run_job(ctx: typer.Context, verb: str, job_type: str, job_name: str | None,
            params: Callable[[], dict[str, Any]], app: str | None, no_wait: bool,
            as_json: bool, timeout: float | None, cancel: bool) -> NoReturn:
    """What every job verb does: submit, then wait with progress (unless --no-wait)."""
    display = Display(as_json)

    def body() -> int:
        parameters_ = params()
        with session(ctx) as (client, profile):
            handle = client.submit(application(client, profile, app), job_type, job_name,
                                   parameters_)
            if no_wait:
                display.result(f"Job {handle.job_id} submitted ({handle.last.descriptive_status}"
                               f"); follow it with `epmjobs getJobStatus {handle.job_id}`.",
                               dict(handle.last.raw))
                return codes.ExitCode.SUCCESS
            start = time.monotonic()
            result = wait(display, handle, f"{verb} job {handle.job_id}", timeout, cancel)
            display.result(describe(result, time.monotonic() - start), dict(result.raw))
            return codes.for_job(result)

    run(display, body)
