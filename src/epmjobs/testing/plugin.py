"""The pytest plugin: epmjobs servers as fixtures (registered as the ``epmjobs`` entry point).

Fixtures (docs/testing.md):

- ``epmjobs_server``: an :class:`~epmjobs.testing.InProcessServer` of its own per test
  (fresh embedded database, the applications of ``epmjobs_applications``, a worker, the
  control API on); no port, starts in tens of milliseconds.
- ``epmjobs_client``: an ``EpmClient`` of ``epmjobs_server``, as the administrator.
- ``epmjobs_control``: the :class:`~epmjobs.testing.ControlClient` of ``epmjobs_server``.
- ``epmjobs_live_server``: a real ``epmjobs serve`` on a free loopback port for clients in
  other languages; one process per test session, brought back to its first state (its
  database, files, id sequence; no rules) before each test that uses it.
- ``epmjobs_applications``: what the servers hold; the ``epmjobs_applications`` ini option
  (built-in names or definition files, one a line; default ``Vision``), or override the
  fixture to return names, paths or documents.

Nothing is imported from the server here until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from epmjobs.client import EpmClient
    from epmjobs.testing.client import ControlClient
    from epmjobs.testing.servers import InProcessServer, LiveServer

INI = "epmjobs_applications"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, "Applications of the epmjobs fixtures: built-in names (Vision) or "
                       "application definition files, one a line.", type="linelist",
                  default=["Vision"])


def configured_applications(config: pytest.Config) -> tuple[Any, ...]:
    found: list[Any] = []
    for line in config.getini(INI):
        path = config.rootpath / line
        found.append(path if line.endswith(".json") or path.is_file() else line)
    return tuple(found)


@pytest.fixture
def epmjobs_applications(request: pytest.FixtureRequest) -> tuple[Any, ...]:
    """The applications the epmjobs servers start with (override to choose others)."""
    return configured_applications(request.config)


@pytest.fixture
def epmjobs_server(tmp_path: Path,
                   epmjobs_applications: tuple[Any, ...]) -> Iterator[InProcessServer]:
    from epmjobs.testing.servers import InProcessServer

    with InProcessServer(tmp_path / "epmjobs", *epmjobs_applications) as server:
        yield server


@pytest.fixture
def epmjobs_client(epmjobs_server: InProcessServer) -> Iterator[EpmClient]:
    with epmjobs_server.client() as client:
        yield client


@pytest.fixture
def epmjobs_control(epmjobs_server: InProcessServer) -> ControlClient:
    return epmjobs_server.control


@pytest.fixture(scope="session")
def epmjobs_live_server_session(
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The one ``epmjobs serve`` process of this test session (see ``epmjobs_live_server``)."""
    from epmjobs.testing.servers import LiveServer

    folder = tmp_path_factory.mktemp("epmjobs-live")
    with LiveServer(folder / "data", *configured_applications(request.config)) as server:
        yield server


@pytest.fixture
def epmjobs_live_server(epmjobs_live_server_session: LiveServer,
                        epmjobs_applications: tuple[Any, ...],
                        request: pytest.FixtureRequest) -> LiveServer:
    server = epmjobs_live_server_session
    server.fresh()
    if epmjobs_applications != configured_applications(request.config):
        server.control.reset(*epmjobs_applications)
    return server
