"""Entry operations: validation, text cleaning, diffs, optimistic locking, bulk approval."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text

from danvan.extensions import db
from danvan.models import Entry, Event
from danvan.operations import Conflict, Invalid, NotAllowed
from danvan.operations import entries as ops
from danvan.workflow import EntryAction
from tests.factories import waiting_at


def submitted(world, **fields):
    entry = ops.create_entry(
        world.campaign, actor=world.staff_a, fields=world.entry_fields(**fields)
    )
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    return entry


def test_nfd_and_control_characters_are_cleaned(world):
    nfd = unicodedata.normalize("NFD", "Tuyên truyền dân vận khéo")
    entry = ops.create_entry(
        world.campaign,
        actor=world.staff_a,
        fields=world.entry_fields(title=nfd + "\x0b\x00", result="Dòng 1\r\nDòng 2\x07"),
    )
    db.session.commit()
    stored = db.session.get(Entry, entry.id)
    assert stored.title == "Tuyên truyền dân vận khéo"
    assert unicodedata.is_normalized("NFC", stored.title)
    assert stored.result == "Dòng 1\nDòng 2"


def test_reversed_dates_are_refused(world):
    with pytest.raises(Invalid) as info:
        ops.create_entry(
            world.campaign,
            actor=world.staff_a,
            fields=world.entry_fields(date_from=date(2023, 10, 20), date_to=date(2023, 10, 10)),
        )
    assert "date_to" in info.value.errors


def test_dates_outside_campaign_need_confirmation(world):
    fields = world.entry_fields(date_from=date(2023, 11, 2), date_to=date(2023, 11, 2))
    with pytest.raises(Invalid) as info:
        ops.create_entry(world.campaign, actor=world.staff_a, fields=dict(fields))
    assert info.value.needs_confirmation
    assert "01/10/2023 - 31/10/2023" in info.value.message
    entry = ops.create_entry(
        world.campaign, actor=world.staff_a, fields=fields, confirm_outside=True
    )
    assert entry.outside_period_confirmed


def test_content_item_of_another_campaign_is_refused(world):
    with pytest.raises(Invalid):
        ops.create_entry(
            world.campaign, actor=world.staff_a, fields=world.entry_fields(content_item_id=99999)
        )


def test_resubmission_records_fields_changed_since_return(world):
    entry = submitted(world)
    ops.act(entry, EntryAction.RETURN, actor=world.head_a, comment="Bổ sung số người dân")
    ops.update_entry(
        entry,
        actor=world.staff_a,
        expected_version=entry.version,
        fields=world.entry_fields(participants_citizens=35, place="Xã Thanh Hà"),
    )
    event = ops.act(entry, EntryAction.RESUBMIT, actor=world.staff_a)
    db.session.commit()
    changed = {c["label"]: (c["old"], c["new"]) for c in event.changes}
    assert changed == {
        "Người dân tham gia": ("15", "35"),
        "Địa điểm": ("Hội trường Sở", "Xã Thanh Hà"),
    }
    assert waiting_at(entry) == "unit_head" and entry.last_comment is None


def test_stale_version_is_a_conflict_and_changes_nothing(world):
    entry = submitted(world)
    version = entry.version
    ops.act(entry, EntryAction.APPROVE, actor=world.head_a, expected_version=version)
    db.session.commit()
    with pytest.raises(Conflict) as info:
        ops.act(
            entry, EntryAction.RETURN, actor=world.head_a, comment="x", expected_version=version
        )
    assert "người khác xử lý" in info.value.message
    db.session.rollback()
    assert waiting_at(db.session.get(Entry, entry.id)) == "office"


def test_concurrent_update_detected_at_flush(world):
    """Two approvers read the same version; the other one commits first."""
    entry = submitted(world)
    version = entry.version
    with db.engine.begin() as conn:  # the other approver's transaction
        conn.execute(
            text("UPDATE entry SET step=1, step_kind='office', version=version+1 WHERE id=:id"),
            {"id": entry.id},
        )
    with pytest.raises(Conflict):
        ops.act(entry, EntryAction.APPROVE, actor=world.head_a, expected_version=version)
    db.session.rollback()
    events = db.session.scalars(select(Event.action).where(Event.entry_id == entry.id)).all()
    assert events == ["create", "submit"]


def test_bulk_approve_uses_the_same_rules(world):
    mine = [submitted(world, title=f"Hoạt động {i}") for i in range(3)]
    other_unit = ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields())
    ops.act(other_unit, EntryAction.SUBMIT, actor=world.staff_b)
    stale = mine[2]
    items = [
        (mine[0], mine[0].version),
        (mine[1], mine[1].version),
        (stale, stale.version - 1),
        (other_unit, other_unit.version),
    ]
    done, failed = ops.act_many(items, EntryAction.APPROVE, actor=world.head_a)
    db.session.commit()
    assert [e.id for e in done] == [mine[0].id, mine[1].id]
    assert {e.id for e, _ in failed} == {stale.id, other_unit.id}
    assert waiting_at(db.session.get(Entry, stale.id)) == "unit_head"
    assert waiting_at(db.session.get(Entry, other_unit.id)) == "unit_head"


def test_only_author_edits_and_only_while_editable(world):
    entry = submitted(world)
    with pytest.raises(NotAllowed):
        ops.update_entry(
            entry, actor=world.staff_a, fields=world.entry_fields(), expected_version=entry.version
        )
    ops.act(entry, EntryAction.RETURN, actor=world.head_a, comment="Sửa lại")
    with pytest.raises(NotAllowed):
        ops.update_entry(
            entry, actor=world.staff_a2, fields=world.entry_fields(), expected_version=entry.version
        )


def test_delegate_acts_for_the_head_and_history_says_so(world):
    from datetime import timedelta

    from danvan.models import Delegation
    from danvan.text import utcnow

    db.session.add(
        Delegation(
            head_id=world.head_a.id,
            delegate_id=world.staff_a2.id,
            unit_id=world.unit_a.id,
            starts_at=utcnow() - timedelta(hours=1),
            ends_at=utcnow() + timedelta(days=1),
        )
    )
    entry = submitted(world)
    event = ops.act(entry, EntryAction.APPROVE, actor=world.staff_a2)
    assert event.acting_for_id == world.head_a.id
    # An expired delegation gives no power.
    entry2 = submitted(world, title="Khác")
    db.session.execute(text("UPDATE delegation SET ends_at=starts_at"))
    with pytest.raises(NotAllowed):
        ops.act(entry2, EntryAction.APPROVE, actor=world.staff_a2)


def test_history_is_append_only_in_the_database(world, owner_url):
    entry = submitted(world)
    db.session.commit()
    owner = create_engine(owner_url)  # the tables' owner hits the triggers, the app its role
    for engine in (db.engine, owner):
        for statement in ("UPDATE event SET comment='sửa lịch sử'", "DELETE FROM event"):
            with (
                pytest.raises(Exception, match="append-only|permission denied"),
                engine.begin() as conn,
            ):
                conn.execute(text(statement))
    with pytest.raises(Exception, match="append-only"), owner.begin() as conn:
        conn.execute(text("DELETE FROM event"))
    owner.dispose()
    assert len(db.session.scalars(select(Event).where(Event.entry_id == entry.id)).all()) == 2
