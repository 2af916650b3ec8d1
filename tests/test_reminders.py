"""Campaign-level reminders: units that have sent nothing a week before the report deadline,
and Văn phòng three days before it while no report has gone up for signature."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from danvan.extensions import db
from danvan.models import OutboxMessage
from danvan.notifications import queue_deadline_reminders
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.workflow import EntryAction


def _mails() -> dict[str, str]:
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return {m.recipient: m.body for m in rows}


def _remind(world, days_before: int) -> dict[str, str]:
    db.session.query(OutboxMessage).delete()
    today = world.campaign.report_deadline - timedelta(days=days_before)
    queue_deadline_reminders(world.campaign, today)
    db.session.flush()
    return _mails()


def _approved(world, author, head):
    entry = ops.create_entry(world.campaign, actor=author, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=author)
    ops.act(entry, EntryAction.APPROVE, actor=head)
    ops.act(entry, EntryAction.APPROVE, actor=world.office)
    return entry


def test_units_with_nothing_sent_hear_a_week_before(world):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    # Eight days before: only the existing reminders (the head has one waiting).
    early = _remind(world, 8)
    assert set(early) == {"tp.a@example.vn"}
    # Seven days before: unit B has sent nothing, so its staff and head hear of it.
    mails = _remind(world, 7)
    assert "Đơn vị Thanh tra Sở chưa gửi hoạt động nào" in mails["cv.b@example.vn"]
    assert "Đơn vị Thanh tra Sở chưa gửi hoạt động nào" in mails["tp.b@example.vn"]
    assert "(còn 7 ngày)" in mails["cv.b@example.vn"]
    # Unit A has sent one: its people hear only of what waits for them, not of silence.
    assert "chưa gửi hoạt động nào" not in mails["tp.a@example.vn"]
    assert "cv.a2@example.vn" not in mails
    # Văn phòng is not a unit that reports to itself; its reminder starts three days before.
    assert "vp@example.vn" not in mails


def test_a_draft_is_not_a_submission(world):
    ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields())
    mails = _remind(world, 5)
    body = mails["cv.b@example.vn"]
    assert "Đơn vị Thanh tra Sở chưa gửi hoạt động nào" in body
    assert "(Nháp)" in body  # and the draft itself is listed


def test_office_hears_three_days_before_until_the_report_goes_up(world):
    _approved(world, world.staff_a, world.head_a)
    assert "vp@example.vn" not in _remind(world, 4)
    mails = _remind(world, 3)
    body = mails["vp@example.vn"]
    assert "Báo cáo kết quả chưa được trình ký." in body
    assert "Có 1 hồ sơ đã duyệt chưa tổng hợp vào báo cáo." in body
    assert "Đơn vị chưa gửi hoạt động: Thanh tra Sở." in body
    assert f"/ke-hoach/{world.campaign.id}" in body
    assert "chưa được trình ký" in mails["cvp@example.vn"]  # the chief is Văn phòng too
    # After the deadline, still not sent up: the reminder says it is late.
    late = _remind(world, -2)
    assert "(đã quá hạn 2 ngày)" in late["vp@example.vn"]
    # Compiled but still a draft: not yet sent for signature, the reminder goes on.
    report = report_ops.compile_report(world.campaign, actor=world.office)
    assert "chưa được trình ký" in _remind(world, 1)["vp@example.vn"]
    # Sent for signature: nothing more to remind the office of.
    report_ops.submit_report(
        report, actor=world.chief, signer=world.director, expected_version=report.version
    )
    assert "vp@example.vn" not in _remind(world, 1)


def test_no_reminders_for_a_draft_or_closed_plan(world):
    ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields())
    for status in ("draft", "closed"):
        world.campaign.status = status
        assert _remind(world, 1) == {}
