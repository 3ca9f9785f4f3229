"""The CLI's saved login: URL, user, password or token, default application.

Stored as JSON in ``$EPMJOBS_PROFILE``, else ``$XDG_CONFIG_HOME/epmjobs/profile.json``
(``~/.config/epmjobs/profile.json``), created with mode 0600 in a 0700 directory, and
refused when group or others can read it (as ssh does with keys). The password is kept in
clear in that private file, as ``.netrc`` does; prefer a token where the server has them.

``EPMJOBS_URL``, ``EPMJOBS_USER``, ``EPMJOBS_PASSWORD``, ``EPMJOBS_TOKEN`` and
``EPMJOBS_APP`` override the saved values (for CI jobs that keep no files).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

from epmjobs.client.epmclient import EpmClient
from epmjobs.client.errors import ProfileError
from epmjobs.client.http import BearerToken, RetryPolicy, normalise_base_url


@dataclass(frozen=True)
class Profile:
    url: str
    user: str | None = None
    password: str | None = None
    token: str | None = None
    app: str | None = None
    api_version: str = "v3"

    def client(self, transport: httpx.BaseTransport | None = None,
               retry: RetryPolicy | None = None) -> EpmClient:
        """A client with these credentials (``transport``, ``retry``: see EpmClient)."""
        if self.token:
            auth: tuple[str, str] | BearerToken = BearerToken(self.token)
        elif self.user is not None:
            auth = (self.user, self.password or "")
        else:
            raise ProfileError("The profile has neither a user nor a token: run "
                               "`epmjobs login` again.")
        return EpmClient(normalise_base_url(self.url), auth, api_version=self.api_version,
                         transport=transport, retry=retry)

    def describe(self) -> str:
        who = self.user if not self.token else f"token{f' ({self.user})' if self.user else ''}"
        return f"{who} at {self.url}" + (f", application {self.app}" if self.app else "")


def verified(profile: Profile, client: EpmClient) -> tuple[Profile, list[str]]:
    """Check a new login against the server (ping, applications); the application list.

    The profile gets the server's only application as its default when it names none.
    """
    client.ping()
    names = [a.name for a in client.applications()]
    if profile.app and profile.app not in names:
        raise ProfileError(f"No application {profile.app!r} at {profile.url} (there are: "
                           f"{', '.join(names) or 'none'}).")
    if not profile.app and len(names) == 1:
        profile = replace(profile, app=names[0])
    return replace(profile, url=client.base_url), names


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("EPMJOBS_PROFILE"):
        return Path(env["EPMJOBS_PROFILE"]).expanduser()
    config = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "epmjobs" / "profile.json"


def save(profile: Profile, path: Path | None = None) -> Path:
    """Write the profile atomically, readable by its owner only."""
    path = path or profile_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".profile.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({k: v for k, v in asdict(profile).items() if v is not None}, out,
                      indent=2)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


def load(path: Path | None = None) -> Profile | None:
    """The saved profile, None when there is none; ProfileError when it is unusable."""
    path = path or profile_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ProfileError(f"The profile {path} can be read by other users; fix it with "
                           f"`chmod 600 {path}` (or log in again).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Profile(**{k: data[k] for k in Profile.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError) as exc:
        raise ProfileError(f"The profile {path} is unreadable ({exc}); log in again.") \
            from exc


def delete(path: Path | None = None) -> bool:
    path = path or profile_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def current(env: Mapping[str, str] | None = None) -> Profile:
    """The saved profile with the environment's overrides, or ProfileError to log in."""
    env = os.environ if env is None else env
    saved = load(profile_path(env))
    url = env.get("EPMJOBS_URL") or (saved.url if saved else None)
    if not url:
        raise ProfileError("Not logged in: run `epmjobs login URL USER` first (or set "
                           "EPMJOBS_URL with EPMJOBS_USER/EPMJOBS_PASSWORD or EPMJOBS_TOKEN).")
    profile = saved or Profile(url=url)
    overrides = {"url": url, "user": env.get("EPMJOBS_USER"),
                 "password": env.get("EPMJOBS_PASSWORD"), "token": env.get("EPMJOBS_TOKEN"),
                 "app": env.get("EPMJOBS_APP")}
    if overrides["user"] or overrides["password"]:
        profile = replace(profile, token=None)
    if overrides["token"]:
        profile = replace(profile, user=None, password=None)
    return replace(profile, **{k: v for k, v in overrides.items() if v})
