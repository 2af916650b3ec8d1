"""Revision 0005 (the chain as data) on a database holding entries in flight: downgrading to
the per-step states and upgrading again keeps every entry where it was, with who approved it
at which step, and the history's hash chain still verifies."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from danvan import create_app, ledger
from danvan.extensions import db
from danvan.models import Entry
from danvan.operations import entries as ops
from danvan.workflow import EntryAction as A
from tests.factories import World


def _entries(conn) -> dict[int, tuple]:
    rows = conn.execute(text("SELECT id, state, step, step_kind, returned_step FROM entry"))
    return {r[0]: tuple(r[1:]) for r in rows}


def _approvals(conn) -> set[tuple]:
    return set(conn.execute(text("SELECT entry_id, step, user_id FROM entry_approval")))


def test_entries_in_flight_survive_downgrade_and_upgrade(app_config, tmp_path, backend):
    if backend[0] == "sqlite":
        url = f"sqlite:///{tmp_path / 'chain.sqlite3'}"
        config = {**app_config, "SQLALCHEMY_DATABASE_URI": url}
    else:
        config = app_config
    app = create_app(config)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory)
        world = World()
        made = {}
        for name in ("draft", "at_unit", "at_office", "returned", "approved"):
            fields = world.entry_fields()
            entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=fields)
            made[name] = entry
            if name == "draft":
                continue
            ops.act(entry, A.SUBMIT, actor=world.staff_a)
            if name in ("at_office", "returned", "approved"):
                ops.act(entry, A.APPROVE, actor=world.head_a)
            if name == "returned":
                ops.act(entry, A.RETURN, actor=world.office, comment="Bổ sung ảnh.")
            if name == "approved":
                ops.act(entry, A.APPROVE, actor=world.office)
        db.session.commit()
        made = {name: entry.id for name, entry in made.items()}
        with db.engine.connect() as conn:
            before, approvals = _entries(conn), _approvals(conn)
        assert before[made["at_office"]] == ("pending", 1, "office", None)
        assert before[made["returned"]] == ("returned", None, None, 1)
        db.session.remove()

        downgrade(directory=directory, revision="0004")
        with db.engine.connect() as conn:
            old = dict(conn.execute(text("SELECT id, state FROM entry")).all())
            returned = conn.execute(
                text("SELECT returned_step FROM entry WHERE id = :i"), {"i": made["returned"]}
            ).scalar()
        assert old[made["at_unit"]] == "pending_unit"
        assert old[made["at_office"]] == "pending_office"
        assert returned == "office"

        upgrade(directory=directory)
        with db.engine.connect() as conn:
            assert _entries(conn) == before
            assert _approvals(conn) == approvals
            assert ledger.check_chains(conn) == []
        entry = db.session.get(Entry, made["at_office"])
        assert entry.state_label == "Chờ Văn phòng Sở duyệt"
        db.session.remove()
        downgrade(directory=directory, revision="base")
        upgrade(directory=directory)
        db.engine.dispose()
