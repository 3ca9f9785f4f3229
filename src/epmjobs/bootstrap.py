"""First start of an installation: schema, first administrator, demo application."""

from __future__ import annotations

import time
from dataclasses import dataclass

from epmjobs.appfile import create_application, load_file
from epmjobs.demo import VISION_FILE
from epmjobs.demo.vision_data import seed_vision_data
from epmjobs.security.passwords import generate_password, hash_password
from epmjobs.security.roles import Role
from epmjobs.storage import migrate
from epmjobs.system import System


@dataclass(frozen=True)
class BootstrapReport:
    created_admin: str | None
    generated_password: str | None
    seeded_demo: bool


def bootstrap(system: System, *, auto_migrate: bool = True) -> BootstrapReport:
    """Make a database ready to serve; safe to call on every start."""
    if auto_migrate:
        migrate.upgrade(system.db)
    migrate.ensure_current(system.db)
    settings = system.settings
    created, generated = None, None
    if system.stores.users.count() == 0:
        password = settings.admin_password
        if password is None:
            password = generated = generate_password()
        system.stores.users.add(settings.admin_user, Role.SERVICE_ADMINISTRATOR.value,
                                hash_password(password), time.time())
        created = settings.admin_user
    seeded = False
    if settings.seed_demo and not system.stores.apps.all():
        create_application(system, load_file(VISION_FILE))
        seed_vision_data(system, "Vision")
        seeded = True
    return BootstrapReport(created, generated, seeded)
