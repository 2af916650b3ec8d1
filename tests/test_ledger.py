"""The tamper-evident record: append-only against REPLACE, a hash chain over history, register
and archive rows, and verify-archive naming the first row the database owner changed."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from danvan import ledger
from danvan.extensions import db
from danvan.models import Event
from danvan.operations import entries as ops
from danvan.workflow import EntryAction


def _entry(world, title="Hội nghị"):
    entry = ops.create_entry(
        world.campaign, actor=world.staff_a, fields=world.entry_fields(title=title)
    )
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
    db.session.commit()
    return entry


def _owner_url(app):
    """The owner's connection: on PostgreSQL the migration role, on SQLite the file itself."""
    return app.config.get("MIGRATION_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"]


def test_every_history_row_is_sealed_in_order(world):
    _entry(world)
    _entry(world, "Tọa đàm")
    events = list(db.session.scalars(db.select(Event).order_by(Event.seq)))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == ledger.GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.row_hash
    assert ledger.check_chains() == []


def test_parallel_writers_never_fork_the_chain(app, world):
    ids = [world.staff_a.id, world.staff_b.id] * 3
    errors = []

    def write(user_id, n):
        try:
            with app.app_context():
                from danvan.models import User

                user = db.session.get(User, user_id)
                campaign = db.session.merge(world.campaign, load=True)
                for k in range(3):
                    ops.create_entry(
                        campaign, actor=user, fields=world.entry_fields(title=f"Việc {n}.{k}")
                    )
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(uid, n)) for n, uid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 18
    assert ledger.check_chains() == []


@pytest.mark.only_db("sqlite")
def test_replace_cannot_rewrite_history_on_sqlite(app, world, backend):
    _entry(world)
    event = db.session.scalar(db.select(Event).order_by(Event.id))
    for sql in (
        "REPLACE INTO event (id, action, seq, prev_hash, row_hash, created_at) "
        "VALUES (:id, 'approve', :seq, 'x', 'x', '2023-01-01 00:00:00')",
        "INSERT OR REPLACE INTO event (id, action, seq, prev_hash, row_hash, created_at) "
        "VALUES (:id, 'approve', :seq, 'x', 'x', '2023-01-01 00:00:00')",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql), {"id": event.id, "seq": event.seq})
        db.session.rollback()
    # Also from a plain connection that never set recursive_triggers.
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute(
            "REPLACE INTO event (id, action, seq, prev_hash, row_hash, created_at) "
            "VALUES (?, 'approve', 99, 'x', 'x', '2023-01-01 00:00:00')",
            (event.id,),
        )
    raw.close()
    assert db.session.get(Event, event.id).action == "create"
    assert ledger.check_chains() == []


def _owner_edit(app, backend, sql: str, **params):
    """Change a row as the database owner, bypassing the append-only triggers."""
    engine = create_engine(_owner_url(app))
    with engine.begin() as conn:
        if backend[0] == "sqlite":
            for (name,) in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='event'")
            ).all():
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            conn.execute(text("ALTER TABLE event DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if backend[0] != "sqlite":
            conn.execute(text("ALTER TABLE event ENABLE TRIGGER USER"))
    engine.dispose()


def test_verify_archive_names_the_row_the_owner_changed(app, world, backend):
    _entry(world)
    target = db.session.scalars(db.select(Event).order_by(Event.seq)).all()[1]
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["danvan", "verify-archive"])
    assert ok.exit_code == 0, ok.output
    _owner_edit(
        app, backend, "UPDATE event SET comment = 'Đã duyệt (sửa lại)' WHERE id = :id", id=target.id
    )
    db.session.expire_all()
    breaks = ledger.check_chains()
    assert [(b.chain, b.row_id) for b in breaks] == [("event", target.id)]
    result = runner.invoke(args=["danvan", "verify-archive"])
    assert result.exit_code == 1
    assert f"id={target.id}" in result.output and "Lịch sử xử lý" in result.output


def test_deleting_the_newest_row_is_detected(app, world, backend):
    _entry(world)
    last = db.session.scalar(db.select(Event).order_by(Event.seq.desc()))
    _owner_edit(app, backend, "DELETE FROM event WHERE id = :id", id=last.id)
    db.session.expire_all()
    breaks = ledger.check_chains()
    assert breaks and breaks[0].chain == "event" and breaks[0].row_id is None


@pytest.mark.only_db("postgresql")
@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE event DISABLE TRIGGER USER",
        "UPDATE event SET comment = 'x'",
        "DELETE FROM event",
        "TRUNCATE event CASCADE",
        "UPDATE archived_document SET subject = 'x'",
        "DROP TRIGGER event_append_only ON event",
    ],
)
def test_the_application_role_cannot_lift_the_protection(app, world, backend, sql):
    _entry(world)
    with (
        pytest.raises(DBAPIError, match="must be owner|permission denied"),
        db.engine.begin() as conn,
    ):
        conn.execute(text(sql))
    assert ledger.check_chains() == []


def test_a_refused_item_of_a_bulk_approval_leaves_the_chain_intact(world):
    first = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    second = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    third = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    for entry in (first, second, third):
        ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    done, failed = ops.act_many(
        [(first, first.version), (second, second.version - 1), (third, third.version)],
        EntryAction.APPROVE,
        actor=world.head_a,
    )
    db.session.commit()
    assert len(done) == 2 and len(failed) == 1
    assert ledger.check_chains() == []


def test_a_rolled_back_savepoint_does_not_leave_a_gap(world):
    savepoint = db.session.begin_nested()
    db.session.add(Event(action="edit", actor_id=world.staff_a.id))
    db.session.flush()
    savepoint.rollback()
    db.session.add(Event(action="edit", actor_id=world.staff_a.id))
    db.session.commit()
    assert [e.seq for e in db.session.scalars(db.select(Event))] == [1]
    assert ledger.check_chains() == []
