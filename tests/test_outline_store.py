"""The outline store on SQLite and PostgreSQL: working and refreshed outlines, saves that
rewrite only the dimensions a job changed, refreshes that copy only what changed, the
optimistic revision check, and the cache keyed by each save's token.

Reads that must come from the database use a fresh ``OutlineStore`` (an empty cache).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from epmjobs.appfile import create_application
from epmjobs.errors import Conflict
from epmjobs.planning.application import Application
from epmjobs.planning.outline import (
    Outline,
    load_metadata,
    outline_to_json,
    sort_members,
    synthetic_outline,
    vision_outline,
)
from epmjobs.storage.outlinestore import REFRESHED, WORKING, OutlineStore, StoredOutline
from epmjobs.storage.schema import outline_dimensions, outline_members, outlines
from epmjobs.system import System


def _app(system: System, name: str = "Sandbox", outline: Outline | None = None) -> Application:
    source = outline or vision_outline()
    create_application(system, {"format": "epmjobs-application/1", "name": name, "cubes": [
        {"name": c.name, "kind": str(c.kind)} for c in source.cubes]})
    app = system.stores.apps.get(name)
    assert app is not None
    return app


def _save(system: System, app: Application, outline: Outline,
          base: StoredOutline | None = None, now: float = 10.0) -> int:
    with system.db.transaction() as conn:
        return system.stores.outlines.save(conn, app.application_id, outline, base=base,
                                           now=now)


def _refresh(system: System, app: Application, revision: int) -> list[str]:
    with system.db.transaction() as conn:
        return system.stores.outlines.refresh(conn, app.application_id, revision, 20.0)


def _fresh(system: System, app: Application, stage: int = WORKING) -> StoredOutline:
    return OutlineStore(system.db).load(app, stage)


def _dimension_revisions(system: System, app: Application, stage: int) -> dict[str, int]:
    with system.db.reading() as conn:
        rows = conn.execute(sa.select(outline_dimensions.c.name, outline_dimensions.c.revision)
                            .where(outline_dimensions.c.application_id == app.application_id,
                                   outline_dimensions.c.stage == stage)).all()
    return dict(rows)  # type: ignore[arg-type]


def _add_office(outline: Outline, name: str = "E999") -> Outline:
    return load_metadata(outline, f"Entity, Parent\n{name}, United States\n".encode(),
                         dimension="Entity").outline


def test_an_application_without_an_outline_reads_as_an_empty_one(any_system: System) -> None:
    app = _app(any_system)
    stored = _fresh(any_system, app)
    assert (stored.revision, stored.token, stored.outline.dimensions) == (0, None, [])
    assert stored.outline.cubes == app.cubes
    assert any_system.stores.outlines.revision(app.application_id) == 0
    assert _fresh(any_system, app, REFRESHED).revision == 0


def test_a_saved_outline_reads_back_exactly(any_system: System) -> None:
    app = _app(any_system)
    assert _save(any_system, app, vision_outline()) == 1
    stored = _fresh(any_system, app)
    assert (stored.revision, stored.saved_at) == (1, 10.0)
    assert outline_to_json(stored.outline) == outline_to_json(vision_outline())
    assert stored.outline.next_id == vision_outline().next_id
    assert [m.id for m in stored.outline.require("Product").walk()] == [
        m.id for m in vision_outline().require("Product").walk()]


def test_a_large_outline_saves_and_reads_back_exactly(any_system: System) -> None:
    big = synthetic_outline(20_000, seed=3)
    app = _app(any_system, outline=big)
    _save(any_system, app, big)
    assert outline_to_json(_fresh(any_system, app).outline) == outline_to_json(big)


def test_a_save_rewrites_only_the_dimensions_the_job_changed(any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    base = any_system.stores.outlines.working(app)
    changed = sort_members(_add_office(base.outline), "Total Product", "descending")
    assert _save(any_system, app, changed, base=base) == 2
    revisions = _dimension_revisions(any_system, app, WORKING)
    assert {n for n, r in revisions.items() if r == 2} == {"Entity", "Product"}
    assert outline_to_json(_fresh(any_system, app).outline) == outline_to_json(changed)


def test_a_save_on_a_stale_base_is_refused_and_changes_nothing(any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    base = any_system.stores.outlines.working(app)
    _save(any_system, app, _add_office(base.outline, "E777"), base=base)
    with pytest.raises(Conflict, match="revision 1 became 2"):
        _save(any_system, app, _add_office(base.outline, "E888"), base=base)
    stored = _fresh(any_system, app)
    assert stored.revision == 2
    assert stored.outline.require("Entity").member("E777") is not None
    assert stored.outline.require("Entity").member("E888") is None


def test_a_rolled_back_save_leaves_the_outline_and_the_cache_as_they_were(
        any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    base = any_system.stores.outlines.working(app)
    with pytest.raises(RuntimeError), any_system.db.transaction() as conn:
        any_system.stores.outlines.save(conn, app.application_id, _add_office(base.outline),
                                        base=base, now=11.0)
        raise RuntimeError("the job's final transaction failed")
    for stored in (any_system.stores.outlines.working(app), _fresh(any_system, app)):
        assert stored.revision == 1 and stored.token == base.token
        assert stored.outline.require("Entity").member("E999") is None


def test_refresh_deploys_the_working_outline_copying_only_what_changed(
        any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    assert any_system.stores.outlines.pending_dimensions(app.application_id) == [
        d.name for d in vision_outline().dimensions]
    assert _refresh(any_system, app, 1) == [d.name for d in vision_outline().dimensions]
    assert any_system.stores.outlines.pending_dimensions(app.application_id) == []
    base = any_system.stores.outlines.working(app)
    _save(any_system, app, _add_office(base.outline), base=base)
    assert _fresh(any_system, app, REFRESHED).outline.require("Entity").member("E999") is None
    assert any_system.stores.outlines.pending_dimensions(app.application_id) == ["Entity"]
    assert _refresh(any_system, app, 2) == ["Entity"]
    working, refreshed = _fresh(any_system, app), _fresh(any_system, app, REFRESHED)
    assert outline_to_json(refreshed.outline) == outline_to_json(working.outline)
    assert (refreshed.revision, refreshed.token) == (2, working.token)
    assert _dimension_revisions(any_system, app, REFRESHED) == _dimension_revisions(
        any_system, app, WORKING)


def test_refresh_of_a_revision_that_is_no_longer_current_is_refused(
        any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    base = any_system.stores.outlines.working(app)
    _save(any_system, app, _add_office(base.outline), base=base)
    with pytest.raises(Conflict, match="revision 1 became 2"):
        _refresh(any_system, app, 1)
    assert _fresh(any_system, app, REFRESHED).revision == 0


def test_reads_are_cached_by_token_and_see_saves_made_elsewhere(any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    store = OutlineStore(any_system.db)
    first = store.working(app)
    assert store.working(app).outline is first.outline
    other = OutlineStore(any_system.db)  # another process, in effect
    with any_system.db.transaction() as conn:
        other.save(conn, app.application_id, _add_office(first.outline), base=first, now=12.0)
    again = store.working(app)
    assert again.revision == 2 and again.outline is not first.outline
    assert again.outline.require("Entity").member("E999") is not None


def test_deleting_an_application_deletes_its_outlines(any_system: System) -> None:
    app = _app(any_system)
    _save(any_system, app, vision_outline())
    _refresh(any_system, app, 1)
    with any_system.db.transaction() as conn:
        any_system.stores.apps.delete(conn, app.application_id)
    with any_system.db.reading() as conn:
        for table in (outlines, outline_dimensions, outline_members):
            count = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.application_id == app.application_id)).scalar_one()
            assert count == 0, table.name


def test_the_demo_application_starts_refreshed(any_system: System) -> None:
    app = any_system.stores.apps.get("Vision")
    assert app is not None
    working, refreshed = _fresh(any_system, app), _fresh(any_system, app, REFRESHED)
    assert outline_to_json(working.outline) == outline_to_json(vision_outline())
    assert outline_to_json(refreshed.outline) == outline_to_json(vision_outline())
    assert any_system.stores.outlines.pending_dimensions(app.application_id) == []
