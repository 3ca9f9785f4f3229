"""epmjobs as a test double: a pytest plugin, servers for tests, and the control API.

    def test_my_poller_survives_a_failed_job(epmjobs_server):
        epmjobs_server.control.script(status=1, details="Cell is locked",
                                      job_type="ADMINISTRATION_MODE")
        epmjobs_server.control.progress(after_polls=2)
        assert run_my_poller(epmjobs_server.url, epmjobs_server.auth) == "failed"

The plugin (``epmjobs.testing.plugin``, registered as a pytest entry point) gives the
fixtures; :class:`InProcessServer` and :class:`LiveServer` are what they hand out;
:class:`ControlClient` drives the control API of either (or of any server started with
``--control-api``). See docs/testing.md.

Names are imported on first use, so that pytest loading the plugin in every run costs
nothing, and the client-only install (httpx alone) can import this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from epmjobs.testing.client import ControlClient
    from epmjobs.testing.servers import InProcessServer, LiveServer

_EXPORTS = {
    "ControlClient": "epmjobs.testing.client",
    "InProcessServer": "epmjobs.testing.servers",
    "LiveServer": "epmjobs.testing.servers",
}
__all__ = ["ControlClient", "InProcessServer", "LiveServer"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
