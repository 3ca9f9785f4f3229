"""Shared fixtures: a real SQLite installation per test, PostgreSQL when configured."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from epmjobs.bootstrap import bootstrap
from epmjobs.jobs.runner import Worker
from epmjobs.security.passwords import hash_password, set_hash_cost
from epmjobs.security.roles import Role
from epmjobs.settings import Settings
from epmjobs.system import System

warnings.filterwarnings("ignore", message=".*httpx2.*")
set_hash_cost(time_cost=1, memory_cost_kib=8)  # production cost is for servers, not fixtures

ADMIN = ("admin", "adminpw")
PASSWORD = "secret-pw"
ROLE_USERS = {
    Role.SERVICE_ADMINISTRATOR: "sally",
    Role.POWER_USER: "pete",
    Role.USER: "ursula",
    Role.VIEWER: "victor",
}
POSTGRES_URL = os.environ.get("EPMJOBS_TEST_POSTGRES_URL")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    base = Settings(data_dir=data_dir, admin_user=ADMIN[0], admin_password=ADMIN[1],
                    heartbeat_seconds=0.2, stale_after_seconds=1.0, idle_poll_seconds=0.05,
                    auth_cache_seconds=60.0)
    return base.with_overrides(**overrides)


def add_role_users(system: System) -> None:
    hashed = hash_password(PASSWORD)
    for role, name in ROLE_USERS.items():
        system.stores.users.add(name, role.value, hashed, 0.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def system(settings: Settings) -> Iterator[System]:
    system = System(settings)
    bootstrap(system)
    add_role_users(system)
    yield system
    system.close()


@pytest.fixture
def worker(system: System) -> Worker:
    """Runs queued jobs on demand (``worker.drain()``): deterministic, no sleeps."""
    return Worker(system, "test-worker")


@pytest.fixture
def client(system: System):
    from starlette.testclient import TestClient

    from epmjobs.api.app import create_app

    with TestClient(create_app(system), base_url="http://epm.test") as c:
        yield c


def _postgres_or_skip() -> str:
    if not POSTGRES_URL:
        if os.environ.get("EPMJOBS_REQUIRE_POSTGRES") == "1":
            pytest.fail("EPMJOBS_REQUIRE_POSTGRES=1 but EPMJOBS_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need EPMJOBS_TEST_POSTGRES_URL")
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    import sqlalchemy as sa

    url = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        if os.environ.get("EPMJOBS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_system(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[System]:
    """The same installation on each database: for storage and lifecycle tests."""
    if request.param == "sqlite":
        settings = make_settings(tmp_path / "data")
    else:
        settings = make_settings(tmp_path / "data",
                                 database_url=request.getfixturevalue("postgres_url"))
    system = System(settings)
    bootstrap(system)
    add_role_users(system)
    yield system
    system.close()
