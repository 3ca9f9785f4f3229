"""An S3-compatible server for the tests: moto's server mode, one per test session.

Tests that need S3 use the ``s3_server`` fixture (import it into the test module) and a
fresh bucket each (``new_bucket``); boto3 finds moto's credentials in the environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from procs import S3_CREDENTIALS, MotoS3


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path_factory.mktemp("s3") / "moto.log").start()
    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)
    try:
        yield server
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def new_bucket(server: MotoS3) -> str:
    name = f"epmjobs-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    return name


def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"
