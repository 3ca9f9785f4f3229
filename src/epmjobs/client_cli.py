"""EPM Automate-style verbs of the `epmjobs` command: the client side of the CLI.

Every verb talks HTTP to a server, epmjobs or Oracle's cloud, through ``epmjobs.client``
with the login that ``epmjobs login`` saved. Verb names are EPM Automate's (and, like
its, also accepted in lower case). Exit codes: ``epmjobs.client.exitcodes`` and
docs/cli.md, which also holds every verb's help, kept in sync by a test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from epmjobs.client import exitcodes as codes
from epmjobs.client import profile as profiles
from epmjobs.client.command import (
    Verb,
    application,
    call,
    client_for,
    describe,
    parameters,
    run,
    run_job,
    usage,
    wait,
)
from epmjobs.client.console import Display
from epmjobs.client.epmclient import EpmClient
from epmjobs.client.profile import Profile

PANEL = "Client verbs (EPM Automate style)"

AppOpt = Annotated[str | None, typer.Option(
    "--app", help="Application (default: the login's, or the server's only one).",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
NoWaitOpt = Annotated[bool, typer.Option(
    "--no-wait", help="Return once the job is submitted; do not wait for it to end.")]
TimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout", min=0, show_default=False, help="Stop waiting after this many seconds "
                                                 "(exit 4).")]
CancelOpt = Annotated[bool, typer.Option(
    "--cancel-on-timeout", help="When --timeout passes, ask the server to cancel the job "
                                "(an epmjobs extension).")]
ParamsArg = Annotated[list[str] | None, typer.Argument(
    metavar="NAME=VALUE", show_default=False,
    help="Job parameters (NAME:=JSON for a JSON value).")]
JobIdArg = Annotated[int, typer.Argument(metavar="JOB_ID", help="The job's id.")]

# verb, jobType, job name required, the parameter a bare FILE_NAME stands for, help
JOB_VERBS: tuple[tuple[str, str, bool, str | None, str], ...] = (
    ("runBusinessRule", "RULES", True, None,
     "Run a business rule; the parameters are its runtime prompts."),
    ("runRuleSet", "RULESET", True, None, "Run a ruleset; the parameters are its runtime prompts."),
    ("importMetadata", "IMPORT_METADATA", True, "importZipFileName",
     "Import metadata with a saved job, e.g. importZipFileName=meta.zip errorFile=err.zip."),
    ("exportMetadata", "EXPORT_METADATA", True, "exportZipFileName",
     "Export metadata with a saved job, e.g. exportZipFileName=meta.zip."),
    ("importData", "IMPORT_DATA", True, "importFileName",
     "Import data with a saved job, e.g. importFileName=data.csv errorFile=err.zip."),
    ("exportData", "EXPORT_DATA", True, "exportFileName",
     "Export data with a saved job, e.g. exportFileName=data.zip."),
    ("refreshCube", "CUBE_REFRESH", False, None, "Refresh the cubes with a saved refresh job."),
    ("clearCube", "CLEAR_CUBE", True, None, "Clear cube data with a saved Clear Cube job."),
    ("runPlanTypeMap", "PLAN_TYPE_MAP", True, None,
     "Run a data map (Plan Type Map), e.g. clearData=false."),
)


def _job_verb(verb: str, job_type: str, required: bool,
              file_param: str | None) -> Callable[..., None]:
    metavar = {"RULES": "RULE_NAME", "RULESET": "RULESET_NAME"}.get(job_type, "JOB_NAME")
    def command(ctx: typer.Context, job_name: str | None = None, params: ParamsArg = None,
                app: AppOpt = None, no_wait: NoWaitOpt = False, as_json: JsonOpt = False,
                timeout: TimeoutOpt = None, cancel_on_timeout: CancelOpt = False) -> None:
        run_job(ctx, verb, job_type, job_name, lambda: parameters(params or [], file_param),
                app, no_wait, as_json, timeout, cancel_on_timeout)

    # The job name's argument differs per verb: set it on the signature typer reads.
    name_arg = Annotated[str | None, typer.Argument(
        metavar=metavar, show_default=False,
        help="The rule's name." if job_type == "RULES" else "The saved job's name.")]
    command.__annotations__["job_name"] = name_arg
    signature = inspect.signature(command, eval_str=True)
    command.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(annotation=name_arg, default=inspect.Parameter.empty if required else None)
        if p.name == "job_name" else p for p in signature.parameters.values()])
    return command


def run_any_job(ctx: typer.Context,
                job_type: Annotated[str, typer.Argument(metavar="JOB_TYPE", help=(
                    "Oracle's jobType, e.g. RULES, IMPORT_DATA, ADMINISTRATION_MODE."))],
                job_name: Annotated[str | None, typer.Argument(
                    metavar="JOB_NAME", show_default=False, help=(
                        "The job's name; omit it for a type that needs no saved job."))]
                = None,
                params: ParamsArg = None, app: AppOpt = None, no_wait: NoWaitOpt = False,
                as_json: JsonOpt = False, timeout: TimeoutOpt = None,
                cancel_on_timeout: CancelOpt = False) -> None:
    """Run any job type, as `POST .../jobs` with jobType, jobName and parameters."""
    args = list(params or [])
    if job_name is not None and "=" in job_name:  # no name: the first argument is a parameter
        args.insert(0, job_name)
        job_name = None
    run_job(ctx, "runJob", job_type, job_name, lambda: parameters(args), app, no_wait,
            as_json, timeout, cancel_on_timeout)


def get_job_status(ctx: typer.Context, job_id: JobIdArg, app: AppOpt = None,
                   as_json: JsonOpt = False,
                   wait_: Annotated[bool, typer.Option("--wait", help=(
                       "Wait for the job to end; exit with its outcome."))] = False,
                   timeout: TimeoutOpt = None, cancel_on_timeout: CancelOpt = False) -> None:
    """Show a job's status (with --wait, wait for it like the run verbs)."""
    def act(client: EpmClient, profile: Profile, display: Display) -> int:
        handle = client.attach(application(client, profile, app), job_id)
        if wait_:
            handle.last = wait(display, handle, f"job {job_id}", timeout, cancel_on_timeout)
        display.result(describe(handle.last), dict(handle.last.raw))
        return codes.for_job(handle.last) if wait_ else codes.ExitCode.SUCCESS

    call(ctx, as_json, act)


def list_jobs(ctx: typer.Context,
              app: Annotated[str | None, typer.Option(
                  "--app", help="Only this application's jobs.", show_default=False)] = None,
              job_type: Annotated[list[str] | None, typer.Option(
                  "--type", help="Only this job type (repeatable).", show_default=False)]
              = None,
              status: Annotated[list[int] | None, typer.Option(
                  "--status", help="Only this status, e.g. 1 (repeatable).",
                  show_default=False)] = None,
              limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 25,
              as_json: JsonOpt = False) -> None:
    """List recent jobs, newest first (an epmjobs extension; Oracle has no job list)."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        jobs = client.list_jobs(app=app, job_types=job_type or (), statuses=status or (),
                                limit=limit)
        lines = [f"{j.job_id}\t{j.descriptive_status}\t{j.job_type}\t{j.job_name or ''}\t"
                 f"{j.application}\t{j.submitted_at:%Y-%m-%d %H:%M:%S}\t{j.submitted_by}"
                 if j.submitted_at else f"{j.job_id}\t{j.descriptive_status}" for j in jobs]
        display.result("\n".join(lines), [dict(j.raw) for j in jobs])

    call(ctx, as_json, act)


def cancel_job(ctx: typer.Context, job_id: JobIdArg, as_json: JsonOpt = False) -> None:
    """Cancel a job (an epmjobs extension; Oracle's API cannot cancel)."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        job = client.cancel_job(job_id)
        display.result(describe(job), dict(job.raw))

    call(ctx, as_json, act)


def upload_file(ctx: typer.Context,
                file: Annotated[Path, typer.Argument(metavar="FILE", help="The local file.",
                                                     exists=True, dir_okay=False)],
                folder: Annotated[str | None, typer.Argument(
                    metavar="FOLDER", show_default=False,
                    help="inbox, outbox or a Data Management folder.")] = None,
                name: Annotated[str | None, typer.Option(
                    help="Name in the repository (default: the file's).",
                    show_default=False)] = None,
                overwrite: Annotated[bool, typer.Option(
                    "--overwrite", help="Delete an existing file of that name first.")] = False,
                as_json: JsonOpt = False) -> None:
    """Upload a file to the repository (Inbox/Outbox) in 50 MB chunks."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        with display.transfer(f"Uploading {file.name}") as bar:
            target = client.upload(file, name, folder, overwrite=overwrite, on_progress=bar)
        size = file.stat().st_size
        display.result(f"Uploaded {file} as {target} ({size} bytes).",
                       {"name": target, "size": size})

    call(ctx, as_json, act)


def download_file(ctx: typer.Context,
                  name: Annotated[str, typer.Argument(metavar="FILE_NAME", help=(
                      "The file's name in the repository, e.g. outbox/errors.zip."))],
                  to: Annotated[Path, typer.Option(
                      "--to", help="Directory or file to write.")] = Path("."),
                  as_json: JsonOpt = False) -> None:
    """Download a file from the repository, streaming it to disk."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        with display.transfer(f"Downloading {name}") as bar:
            path = client.download(name, to, on_progress=bar)
        size = path.stat().st_size
        display.result(f"Downloaded {name} to {path} ({size} bytes).",
                       {"name": name, "path": str(path), "size": size})

    call(ctx, as_json, act)


def list_files(ctx: typer.Context,
               long: Annotated[bool, typer.Option(
                   "--long", "-l", help="Also show type, size and time.")] = False,
               as_json: JsonOpt = False) -> None:
    """List the files of the repository."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        files = client.list_files()
        lines = [f"{f.name}\t{f.type}\t{f.size if f.size is not None else ''}\t"
                 f"{f.modified.isoformat() if f.modified else ''}" if long else f.name
                 for f in files]
        display.result("\n".join(lines), [{"name": f.name, "type": f.type, "size": f.size,
                                           "modified": f.modified} for f in files])

    call(ctx, as_json, act)


def delete_file(ctx: typer.Context,
                name: Annotated[str, typer.Argument(metavar="FILE_NAME",
                                                    help="The file's name in the repository.")],
                as_json: JsonOpt = False) -> None:
    """Delete a file from the repository."""
    def act(client: EpmClient, _: Profile, display: Display) -> None:
        client.delete_file(name)
        display.result(f"Deleted {name}.", {"deleted": name})

    call(ctx, as_json, act)


def login(ctx: typer.Context,
          url: Annotated[str, typer.Argument(metavar="URL", help=(
              "The service URL, e.g. https://epm-acme.epm.us-phoenix-1.ocs.oraclecloud.com"))],
          user: Annotated[str | None, typer.Argument(
              metavar="USER", help="User name (user or identitydomain.user).",
              show_default=False)] = None,
          password: Annotated[str | None, typer.Option(
              envvar="EPMJOBS_PASSWORD", show_default=False,
              help="Password (default: asked for, hidden).")] = None,
          token: Annotated[str | None, typer.Option(
              envvar="EPMJOBS_TOKEN", show_default=False,
              help="A bearer token instead of a password.")] = None,
          app: AppOpt = None,
          api_version: Annotated[str, typer.Option(help="Planning API version.")] = "v3",
          as_json: JsonOpt = False) -> None:
    """Check the credentials and save them in the login profile (mode 0600)."""
    display = Display(as_json)

    def body() -> None:
        nonlocal password
        if not user and not token:
            usage("Give a USER (and a password) or --token.")
        if user and not token and password is None:
            password = typer.prompt("Password", hide_input=True, err=True)
        profile = Profile(url, user, password, token, app, api_version)
        with client_for(ctx, profile) as client:
            profile, names = profiles.verified(profile, client)
        path = profiles.save(profile)
        display.result(f"Logged in as {profile.describe()}. Profile: {path}",
                       {"url": profile.url, "user": user, "app": profile.app,
                        "applications": names, "profile": str(path)})

    run(display, body)


def logout(as_json: JsonOpt = False) -> None:
    """Forget the saved login (delete the profile file)."""
    display = Display(as_json)
    path = profiles.profile_path()

    def body() -> None:
        gone = profiles.delete(path)
        display.result(f"Logged out (removed {path})." if gone else "Not logged in.",
                       {"removed": str(path) if gone else None})

    run(display, body)


VERBS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("runJob", run_any_job), ("getJobStatus", get_job_status), ("listJobs", list_jobs),
    ("cancelJob", cancel_job), ("uploadFile", upload_file), ("downloadFile", download_file),
    ("listFiles", list_files), ("deleteFile", delete_file), ("login", login),
    ("logout", logout),
)


def register(app: typer.Typer) -> None:
    """Add the client verbs (login, runBusinessRule, uploadFile, ...) to the CLI."""
    def add(name: str, function: Callable[..., None], help: str | None = None) -> None:
        for alias, hidden in ((name, False), (name.lower(), True)):
            if alias != name or not hidden:
                app.command(alias, cls=Verb, help=help, hidden=hidden,
                            rich_help_panel=PANEL)(function)

    for verb, job_type, required, file_param, text in JOB_VERBS:
        extra = f" A bare FILE_NAME stands for {file_param}=FILE_NAME." if file_param else ""
        add(verb, _job_verb(verb, job_type, required, file_param), text + extra)
    for name, function in VERBS:
        add(name, function)
