"""Campaign administration: details, content items, observances, the approval chain and its
checks, "Sao chép sang năm sau", publish/close; every change in the administration log; the
pages are for administrators only."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from danvan.entries.forms import EntryForm
from danvan.extensions import db
from danvan.models import AuditLog, Campaign, Entry
from danvan.operations import Invalid, NotAllowed
from danvan.operations import campaigns as ops
from danvan.operations import entries as entry_ops
from danvan.workflow import MAX_CHAIN_STEPS, ChainStep, EntryAction, StepKind
from tests.factories import create_campaign, create_user

UNIT_HEAD, OFFICE, CHIEF = (ChainStep(StepKind(k)) for k in ("unit_head", "office", "office_chief"))
FIELDS = {
    "title": "Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận năm 2024",
    "plan_number": "98/KH-SXD",
    "plan_date": date(2024, 9, 26),
    "period_start": date(2024, 10, 1),
    "period_end": date(2024, 10, 31),
    "report_deadline": date(2024, 11, 5),
    "report_recipient": "Ban Dân vận Tỉnh ủy",
    "report_subject": "Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2024",
    "recipients": "  Ban Dân vận Tỉnh ủy \r\n\r\nGiám đốc, các Phó Giám đốc Sở\n",
    "resume_policy": "start",
    "evidence_required": True,
}


def deputy_step(world, user=None) -> ChainStep:
    return ChainStep(StepKind.DEPUTY, (user or world.deputy).id)


def log_rows(campaign_id: int, action: str | None = None) -> list[AuditLog]:
    stmt = select(AuditLog).where(
        AuditLog.object_type == "campaign", AuditLog.object_id == campaign_id
    )
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt.order_by(AuditLog.id)))


def entry_in(world, campaign=None, state: str = "draft", **fields) -> Entry:
    campaign = campaign or world.campaign
    fields = world.entry_fields(
        content_item_id=campaign.content_items[0].id,
        observance_id=campaign.observances[0].id,
        **fields,
    )
    entry = entry_ops.create_entry(campaign, actor=world.staff_a, fields=fields)
    if state != "draft":
        entry_ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    if state == "returned":
        entry_ops.act(entry, EntryAction.RETURN, actor=world.head_a, comment="Bổ sung số liệu")
    elif state == "withdrawn":
        entry_ops.act(entry, EntryAction.WITHDRAW, actor=world.staff_a)
    elif state == "approved":
        entry_ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
        entry_ops.act(entry, EntryAction.APPROVE, actor=world.office)
    db.session.flush()
    return entry


# --- Campaign details -----------------------------------------------------------------------


def test_create_campaign_is_a_draft_and_logged(world):
    campaign = ops.create_campaign(world.agency, actor=world.admin, fields=FIELDS)
    db.session.commit()
    assert campaign.status == "draft" and campaign.year == 2024
    assert campaign.recipients == "Ban Dân vận Tỉnh ủy\nGiám đốc, các Phó Giám đốc Sở"
    assert campaign.recipient_lines == ["Ban Dân vận Tỉnh ủy", "Giám đốc, các Phó Giám đốc Sở"]
    assert campaign.evidence_required and campaign.plan_number == "98/KH-SXD"
    (row,) = log_rows(campaign.id)
    assert (row.action, row.actor_id, row.before) == ("create", world.admin.id, None)
    assert row.after["period_start"] == "2024-10-01" and row.after["year"] == 2024
    assert "98/KH-SXD" in row.summary
    assert ops.campaign_warnings(campaign) == []


def test_year_follows_the_period_start(world):
    fields = {**FIELDS, "period_start": date(2025, 1, 2), "period_end": date(2025, 1, 31)}
    fields["report_deadline"] = date(2025, 2, 5)
    assert ops.create_campaign(world.agency, actor=world.admin, fields=fields).year == 2025


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"period_end": date(2024, 9, 30)}, "period_end", "sau hoặc bằng ngày bắt đầu"),
        ({"report_deadline": date(2024, 9, 1)}, "report_deadline", "không thể trước ngày bắt đầu"),
        ({"period_start": None}, "period_start", "Vui lòng nhập ngày bắt đầu thực hiện"),
        ({"title": "   "}, "title", "Vui lòng nhập tên kế hoạch"),
        ({"report_subject": ""}, "report_subject", "Vui lòng nhập trích yếu báo cáo"),
        ({"resume_policy": "sometimes"}, "resume_policy", "Lựa chọn không hợp lệ"),
        ({"recipients": "x" * 301}, "recipients", "300 ký tự"),
    ],
)
def test_impossible_or_missing_values_are_refused(world, changes, field, message):
    with pytest.raises(Invalid) as refused:
        ops.create_campaign(world.agency, actor=world.admin, fields={**FIELDS, **changes})
    assert message in refused.value.errors[field]
    assert refused.value.message.startswith("Chưa lưu được kế hoạch:")


def test_unusual_dates_are_saved_with_a_warning(world):
    fields = {**FIELDS, "report_deadline": date(2024, 10, 25), "plan_date": date(2024, 10, 3)}
    campaign = ops.create_campaign(world.agency, actor=world.admin, fields=fields)
    warnings = ops.campaign_warnings(campaign)
    assert len(warnings) == 2
    assert (
        "Hạn gửi báo cáo (25/10/2024) sớm hơn ngày kết thúc thực hiện (31/10/2024)" in (warnings[0])
    )
    assert "Ngày ban hành kế hoạch (03/10/2024) sau ngày bắt đầu" in warnings[1]


def test_update_campaign_logs_the_difference(world):
    campaign = world.campaign
    fields = {name: getattr(campaign, name) for name in FIELDS}
    assert ops.update_campaign(campaign, actor=world.admin, fields=fields) is False
    assert log_rows(campaign.id) == []
    fields.update(report_deadline=date(2023, 11, 7), recipients="Ban Dân vận Tỉnh ủy")
    assert ops.update_campaign(campaign, actor=world.admin, fields=fields) is True
    db.session.commit()
    (row,) = log_rows(campaign.id, "update")
    assert row.before["report_deadline"] == "2023-11-05"
    assert row.after["report_deadline"] == "2023-11-07"
    assert row.after["recipients"] == "Ban Dân vận Tỉnh ủy"
    assert set(k for k in row.after if row.after[k] != row.before[k]) == {
        "report_deadline",
        "recipients",
    }


def test_only_administrators_run_the_operations(world):
    with pytest.raises(NotAllowed):
        ops.create_campaign(world.agency, actor=world.office, fields=FIELDS)
    with pytest.raises(NotAllowed):
        ops.set_chain(world.campaign, [UNIT_HEAD], actor=world.chief)
    with pytest.raises(NotAllowed):
        ops.copy_to_next_year(world.campaign, actor=world.director)


# --- Status -------------------------------------------------------------------------------


def test_publish_close_reopen(world):
    campaign = ops.create_campaign(world.agency, actor=world.admin, fields=FIELDS)
    with pytest.raises(Invalid, match="chưa có nội dung nào"):
        ops.publish_campaign(campaign, actor=world.admin)
    ops.add_content_item(campaign, actor=world.admin, title="Tuyên truyền")
    ops.publish_campaign(campaign, actor=world.admin)
    assert campaign.status == "active"
    with pytest.raises(Invalid, match="Chỉ kế hoạch đang soạn"):
        ops.publish_campaign(campaign, actor=world.admin)
    ops.close_campaign(campaign, actor=world.admin)
    assert campaign.status == "closed"
    ops.reopen_campaign(campaign, actor=world.admin)
    db.session.commit()
    actions = [(r.action, r.before, r.after) for r in log_rows(campaign.id)][2:]
    assert actions == [
        ("publish", {"status": "draft"}, {"status": "active"}),
        ("close", {"status": "active"}, {"status": "closed"}),
        ("reopen", {"status": "closed"}, {"status": "active"}),
    ]


def test_publish_refuses_a_chain_that_strands_entries(world):
    campaign = ops.create_campaign(world.agency, actor=world.admin, fields=FIELDS)
    ops.add_content_item(campaign, actor=world.admin, title="Tuyên truyền")
    campaign.chain = [{"kind": "deputy"}]  # no deputy chosen (an imported draft)
    with pytest.raises(Invalid, match="chuỗi phê duyệt chưa dùng được"):
        ops.publish_campaign(campaign, actor=world.admin)


# --- Content items and observances ----------------------------------------------------------


def test_content_items_add_rename_reorder(world):
    campaign = world.campaign
    third = ops.add_content_item(campaign, actor=world.admin, title="  Phong trào Dân vận khéo ")
    assert (third.title, third.position) == ("Phong trào Dân vận khéo", 3)
    with pytest.raises(Invalid, match="đã có nội dung"):
        ops.add_content_item(campaign, actor=world.admin, title="phong trào dân vận khéo")
    assert ops.update_content_item(third, actor=world.admin, title="Dân vận khéo") is True
    assert ops.move_content_item(third, -1, actor=world.admin) is True
    assert [i.title for i in campaign.active_content_items] == [
        "Tuyên truyền Ngày truyền thống công tác dân vận",
        "Dân vận khéo",
        "Dân vận chính quyền, cải cách hành chính",
    ]
    assert [i.position for i in campaign.active_content_items] == [1, 2, 3]
    first = campaign.active_content_items[0]
    assert ops.move_content_item(first, -1, actor=world.admin) is False  # already first
    db.session.commit()
    actions = [r.action for r in log_rows(campaign.id)]
    assert actions == ["add_item", "update_item", "reorder_items"]
    reorder = log_rows(campaign.id, "reorder_items")[0]
    assert reorder.before["content_items"][1] == "Dân vận chính quyền, cải cách hành chính"
    assert reorder.after["content_items"][1] == "Dân vận khéo"


def test_referenced_item_is_archived_not_deleted(world):
    campaign = world.campaign
    used, unused = campaign.content_items
    entry_in(world)  # a draft refers to the first item
    with pytest.raises(Invalid) as refused:
        ops.delete_content_item(used, actor=world.admin)
    assert "đã có 1 hồ sơ hoạt động" in refused.value.message
    assert "Hãy lưu trữ" in refused.value.message
    ops.archive_content_item(used, actor=world.admin)
    assert used.archived and campaign.active_content_items == [unused]
    assert unused.position == 1  # the offered items are numbered 1…n
    with pytest.raises(Invalid, match="phải còn ít nhất một nội dung"):
        ops.archive_content_item(unused, actor=world.admin)  # the campaign is active
    ops.restore_content_item(used, actor=world.admin)
    assert [i.title for i in campaign.active_content_items][-1] == used.title
    extra = ops.add_content_item(campaign, actor=world.admin, title="Nội dung thừa")
    extra_id = extra.id
    ops.delete_content_item(extra, actor=world.admin)
    db.session.commit()
    assert db.session.get(type(extra), extra_id) is None
    actions = [r.action for r in log_rows(campaign.id)]
    assert actions == ["archive_item", "restore_item", "add_item", "delete_item"]
    deleted = log_rows(campaign.id, "delete_item")[0]
    assert deleted.before["item_title"] == "Nội dung thừa" and deleted.after is None


def test_archived_items_are_not_offered_in_the_entry_form(world, app):
    campaign = world.campaign
    item, observance = campaign.content_items[1], campaign.observances[1]
    ops.archive_content_item(item, actor=world.admin)
    ops.archive_observance(observance, actor=world.admin)
    db.session.commit()
    with app.test_request_context():
        form = EntryForm(campaign=campaign)
    offered = [c.value for c in form.content_item_id.choices]
    assert offered == [i.id for i in campaign.active_content_items]
    assert observance.id not in [c.value for c in form.observance_id.choices]


def test_observances_anniversary_archive_and_delete(world):
    campaign = world.campaign
    women = ops.add_observance(
        campaign,
        actor=world.admin,
        fields={"day": date(2023, 10, 20), "name": "Ngày thành lập Hội LHPN Việt Nam",
                "founding_year": 1930},
    )  # fmt: skip
    assert women.display_name == "20/10 – Ngày thành lập Hội LHPN Việt Nam (93 năm)"
    with pytest.raises(Invalid) as refused:
        ops.add_observance(
            campaign,
            actor=world.admin,
            fields={"day": date(2023, 10, 1), "name": "Tương lai", "founding_year": 2030},
        )
    assert "không thể sau năm 2023" in refused.value.errors["founding_year"]
    changed = ops.update_observance(
        women, actor=world.admin, fields={"day": date(2023, 10, 20), "name": women.name,
                                         "founding_year": 1929},
    )  # fmt: skip
    assert changed and women.anniversary == 94
    answered = campaign.observances[0]
    entry_in(world)  # answers the 15/10 observance
    with pytest.raises(Invalid, match="hưởng ứng ngày này"):
        ops.delete_observance(answered, actor=world.admin)
    ops.archive_observance(answered, actor=world.admin)
    assert answered not in campaign.active_observances
    ops.delete_observance(women, actor=world.admin)
    db.session.commit()
    actions = [r.action for r in log_rows(campaign.id)]
    assert actions == ["add_observance", "update_observance", "archive_observance",
                       "delete_observance"]  # fmt: skip
    update = log_rows(campaign.id, "update_observance")[0]
    assert (update.before["founding_year"], update.after["founding_year"]) == (1930, 1929)


# --- The approval chain: what could strand an entry ----------------------------------------


def test_workable_chains_have_no_problems(world):
    assert ops.chain_problems(world.agency, [UNIT_HEAD, OFFICE]) == []
    assert ops.chain_problems(world.agency, [UNIT_HEAD, deputy_step(world), OFFICE]) == []
    assert ops.chain_problems(world.agency, [OFFICE, CHIEF]) == []


def test_empty_and_too_long_chains(world):
    assert ops.chain_problems(world.agency, []) == ["Chuỗi phê duyệt phải có ít nhất một bước."]
    users = [
        world.staff_a,
        world.staff_a2,
        world.staff_b,
        world.head_b,
        world.clerk,
        world.director,
    ]
    steps = [ChainStep(StepKind.USER, u.id) for u in users] + [OFFICE]
    problems = ops.chain_problems(world.agency, steps)
    assert problems == [
        f"Chuỗi phê duyệt có {MAX_CHAIN_STEPS + 1} bước, nhiều hơn mức tối đa "
        f"{MAX_CHAIN_STEPS} bước."
    ]


def test_named_steps_need_an_active_user_with_the_role(world):
    world.staff_b.active = False
    db.session.flush()
    steps = [
        ChainStep(StepKind.DEPUTY),
        ChainStep(StepKind.USER, 999_999),
        ChainStep(StepKind.USER, world.staff_b.id),
        deputy_step(world, world.director),
    ]
    assert ops.chain_problems(world.agency, steps) == [
        "Bước 1 (Phó Giám đốc phụ trách): chưa chọn người duyệt.",
        "Bước 2 (Người được chỉ định): người được chọn không còn trong hệ thống.",
        "Bước 3 (Người được chỉ định): tài khoản của Lý Văn Tuấn đã ngừng hoạt động.",
        "Bước 4 (Phó Giám đốc phụ trách): Nguyễn Quang Huy không có vai trò Phó Giám đốc.",
    ]


def test_the_same_person_twice(world):
    steps = [deputy_step(world), OFFICE, ChainStep(StepKind.USER, world.deputy.id)]
    assert ops.chain_problems(world.agency, steps) == [
        "Bước 3 (Người được chỉ định): Trần Thị Thu Hà đã được chọn ở bước 1; mỗi người chỉ "
        "duyệt một bước của hồ sơ."
    ]


def test_unit_without_an_active_head_is_named(world):
    world.head_b.active = False
    db.session.flush()
    assert ops.chain_problems(world.agency, [UNIT_HEAD, OFFICE]) == [
        "Bước 1 (Trưởng phòng): chưa có Trưởng phòng đang hoạt động ở Thanh tra Sở; hồ sơ "
        "của đơn vị này sẽ không có người duyệt."
    ]
    # A unit without active members needs no head.
    world.staff_b.active = False
    db.session.flush()
    assert ops.chain_problems(world.agency, [UNIT_HEAD, OFFICE]) == []


def test_office_steps_need_someone_to_act(world):
    world.office.active = False
    world.chief.active = False
    db.session.flush()
    problems = ops.chain_problems(world.agency, [OFFICE])
    assert problems == [
        "Bước 1 (Văn phòng Sở): chưa có người dùng đang hoạt động nào có vai trò Chuyên viên "
        "Văn phòng hoặc Chánh Văn phòng."
    ]
    world.office.active = True
    db.session.flush()
    assert ops.chain_problems(world.agency, [OFFICE, CHIEF]) == [
        "Bước 2 (Chánh Văn phòng): chưa có người dùng đang hoạt động nào có vai trò Chánh Văn "
        "phòng."
    ]


def test_office_and_chief_need_an_office_user_besides_the_chiefs(world):
    world.office.active = False
    db.session.flush()
    assert ops.chain_problems(world.agency, [OFFICE, CHIEF]) == [
        "Bước 1 (Văn phòng Sở) và bước 2 (Chánh Văn phòng) phải do 2 người khác nhau duyệt "
        "(người đã duyệt ở một bước không được duyệt ở bước khác), nhưng chỉ có Lê Văn Thắng "
        "duyệt được các bước này."
    ]
    # A second chief is enough: one takes each step.
    create_user("cvp2", world.office_unit, *world.chief.roles, full_name="Đặng Văn Hải")
    db.session.flush()
    assert ops.chain_problems(world.agency, [OFFICE, CHIEF]) == []


def test_a_unit_whose_head_is_needed_twice(world):
    # Văn phòng's head is the Chánh Văn phòng: its staff's entries would need him twice.
    problems = ops.chain_problems(world.agency, [UNIT_HEAD, CHIEF])
    assert problems == [
        "Hồ sơ của Văn phòng Sở: bước 1 (Trưởng phòng) và bước 2 (Chánh Văn phòng) phải do 2 "
        "người khác nhau duyệt (người đã duyệt ở một bước không được duyệt ở bước khác), nhưng "
        "chỉ có Lê Văn Thắng duyệt được các bước này."
    ]


def test_warnings_name_authors_whose_entries_could_stick(world):
    # Phạm Thị Lan is the only office user besides the chief, who heads her unit: her own
    # entry would need the chief at both steps. Saved anyway, with the warning.
    warnings = ops.chain_warnings(world.agency, [UNIT_HEAD, OFFICE])
    assert len(warnings) == 1
    assert warnings[0].startswith("Hồ sơ do Phạm Thị Lan (Văn phòng Sở) lập: bước 1")


# --- The approval chain: impact and saving -------------------------------------------------


def test_chain_change_impact_counts(world):
    for state in ("draft", "draft", "pending", "returned", "withdrawn", "approved"):
        entry_in(world, state=state)
    db.session.commit()
    steps = [UNIT_HEAD, deputy_step(world), OFFICE]
    impact = ops.chain_change_impact(world.campaign, steps)
    assert (impact["pending"], impact["returned"], impact["in_flight"]) == (1, 1, 2)
    assert impact["not_submitted"] == 3
    assert impact["changed"] is True
    assert impact["before"] == ["Trưởng phòng", "Văn phòng Sở"]
    assert impact["after"] == [
        "Trưởng phòng",
        "Phó Giám đốc phụ trách Trần Thị Thu Hà",
        "Văn phòng Sở",
    ]
    assert impact["waiting_labels"][1] == "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà duyệt"
    assert ops.chain_change_impact(world.campaign, [UNIT_HEAD, OFFICE])["changed"] is False


def test_set_chain_refuses_problems_and_logs_the_change(world):
    campaign = world.campaign
    with pytest.raises(ops.ChainRefused) as refused:
        ops.set_chain(campaign, [ChainStep(StepKind.DEPUTY)], actor=world.admin)
    assert refused.value.problems == ["Bước 1 (Phó Giám đốc phụ trách): chưa chọn người duyệt."]
    assert campaign.chain == [{"kind": "unit_head"}, {"kind": "office"}]
    assert log_rows(campaign.id) == []

    pending = entry_in(world, state="pending")
    draft = entry_in(world)
    steps = [UNIT_HEAD, deputy_step(world), OFFICE]
    assert ops.set_chain(campaign, steps, actor=world.admin) is True
    db.session.commit()
    assert campaign.chain == [
        {"kind": "unit_head"},
        {"kind": "deputy", "user_id": world.deputy.id, "name": "Trần Thị Thu Hà"},
        {"kind": "office"},
    ]
    (row,) = log_rows(campaign.id, "set_chain")
    assert row.before == {"chain": ["Trưởng phòng", "Văn phòng Sở"]}
    assert row.after["chain"][1] == "Phó Giám đốc phụ trách Trần Thị Thu Hà"
    assert ops.set_chain(campaign, steps, actor=world.admin) is False  # nothing new

    # The entry in flight keeps its chain; the draft takes the new one when sent.
    assert [s.kind for s in pending.steps] == [StepKind.UNIT_HEAD, StepKind.OFFICE]
    entry_ops.act(draft, EntryAction.SUBMIT, actor=world.staff_a)
    entry_ops.act(draft, EntryAction.APPROVE, actor=world.head_a)
    assert draft.state_label == "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà duyệt"


# --- Sao chép sang năm sau ------------------------------------------------------------------


def test_copy_to_next_year(world):
    source = world.campaign
    source.evidence_required = True
    ops.archive_content_item(source.content_items[1], actor=world.admin)
    ops.add_content_item(source, actor=world.admin, title="Dân vận khéo")
    ops.set_chain(source, [UNIT_HEAD, deputy_step(world), OFFICE], actor=world.admin)
    db.session.commit()
    copy = ops.copy_to_next_year(source, actor=world.admin)
    db.session.commit()
    assert copy.id != source.id and copy.status == "draft"
    assert copy.title == "Tháng cao điểm dân vận năm 2024" and copy.year == 2024
    assert copy.report_subject.endswith("công tác dân vận năm 2024")
    assert (copy.plan_number, copy.plan_date) == (None, None)
    assert (copy.period_start, copy.period_end) == (date(2024, 10, 1), date(2024, 10, 31))
    assert copy.report_deadline == date(2024, 11, 5)
    assert copy.recipients == source.recipients and copy.evidence_required
    assert copy.chain == source.chain
    assert [(i.position, i.title) for i in copy.content_items] == [
        (1, "Tuyên truyền Ngày truyền thống công tác dân vận"),
        (2, "Dân vận khéo"),
    ]
    assert [o.display_name for o in copy.observances] == [
        "15/10 – Ngày truyền thống công tác dân vận (94 năm)",
        "17/10 – Ngày vì người nghèo",
    ]
    assert copy.observances[0].day == date(2024, 10, 15)
    assert source.observances[0].display_name.endswith("(93 năm)")  # the source is unchanged
    (row,) = log_rows(copy.id)
    assert row.action == "copy" and row.after["copied_from"] == source.id
    assert "năm 2023" in row.summary
    with pytest.raises(Invalid, match="hãy sửa kế hoạch đó"):
        ops.copy_to_next_year(source, actor=world.admin)


def test_copy_moves_29_february_to_28_february(world):
    campaign = create_campaign(world.agency, year=2024)
    campaign.period_start, campaign.report_deadline = date(2024, 2, 29), date(2024, 11, 29)
    campaign.observances[0].day = date(2024, 2, 29)
    db.session.commit()
    copy = ops.copy_to_next_year(campaign, actor=world.admin)
    assert copy.period_start == date(2025, 2, 28) and copy.year == 2025
    assert copy.observances[0].day == date(2025, 2, 28)
    assert copy.observances[0].anniversary == 95


def test_year_in_text_is_replaced_only_after_nam():
    assert ops.next_year_text("Kế hoạch năm 2023 (KH 2023), Năm  2023", 2023) == (
        "Kế hoạch năm 2024 (KH 2023), Năm  2024"
    )
    assert ops.next_year_text("năm 20234", 2023) == "năm 20234"


# --- Pages ----------------------------------------------------------------------------------

ADMIN_PAGES = [
    ("GET", "/quan-tri/ke-hoach"),
    ("GET", "/quan-tri/ke-hoach/moi"),
    ("POST", "/quan-tri/ke-hoach/moi"),
    ("GET", "/quan-tri/ke-hoach/{c}"),
    ("POST", "/quan-tri/ke-hoach/{c}"),
    ("POST", "/quan-tri/ke-hoach/{c}/trang-thai/ket-thuc"),
    ("GET", "/quan-tri/ke-hoach/{c}/sao-chep"),
    ("POST", "/quan-tri/ke-hoach/{c}/sao-chep"),
    ("GET", "/quan-tri/ke-hoach/{c}/noi-dung"),
    ("POST", "/quan-tri/ke-hoach/{c}/noi-dung"),
    ("GET", "/quan-tri/ke-hoach/{c}/noi-dung/{i}"),
    ("POST", "/quan-tri/ke-hoach/{c}/noi-dung/{i}/xoa"),
    ("GET", "/quan-tri/ke-hoach/{c}/ngay-ky-niem"),
    ("GET", "/quan-tri/ke-hoach/{c}/ngay-ky-niem/{o}"),
    ("POST", "/quan-tri/ke-hoach/{c}/ngay-ky-niem/{o}/luu-tru"),
    ("GET", "/quan-tri/ke-hoach/{c}/quy-trinh"),
    ("POST", "/quan-tri/ke-hoach/{c}/quy-trinh"),
]


def _paths(world):
    ids = {
        "c": world.campaign.id,
        "i": world.campaign.content_items[0].id,
        "o": world.campaign.observances[0].id,
    }
    return [(method, path.format(**ids)) for method, path in ADMIN_PAGES]


@pytest.mark.parametrize(
    "who", ["staff_a", "head_a", "office", "chief", "director", "deputy", "clerk"]
)
def test_pages_are_for_administrators_only(world, login, who):
    client = login(getattr(world, who))
    before = world.campaign.chain, world.campaign.status
    for method, path in _paths(world):
        response = client.open(path, method=method, data={"xac_nhan": "1", "thao_tac": "luu"})
        assert response.status_code == 403, (method, path)
        assert "Chỉ Quản trị hệ thống mới được quản lý kế hoạch." in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign.id).where(Campaign.year == 2024)) is None
    assert (world.campaign.chain, world.campaign.status) == before
    assert db.session.scalar(select(AuditLog.id).limit(1)) is None


def test_every_page_opens_for_the_administrator(world, login):
    client = login(world.admin)
    for method, path in _paths(world):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 200, path
            assert 'lang="vi"' in response.get_data(as_text=True)


def test_create_and_edit_through_the_pages(world, login):
    client = login(world.admin)
    data = {
        **{k: v for k, v in FIELDS.items() if not isinstance(v, date | bool)},
        "plan_date": "26/09/2024",
        "period_start": "01/10/2024",
        "period_end": "30/09/2024",
        "report_deadline": "05/11/2024",
        "evidence_required": "y",
    }
    refused = client.post("/quan-tri/ke-hoach/moi", data=data)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'role="alert"' in page and "Chưa lưu được kế hoạch" in page
    assert "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu (01/10/2024)." in page
    data["period_end"] = "31/10/2024"
    created = client.post("/quan-tri/ke-hoach/moi", data=data)
    assert created.status_code == 303
    campaign = db.session.scalar(select(Campaign).where(Campaign.year == 2024))
    assert created.headers["Location"].endswith(f"/quan-tri/ke-hoach/{campaign.id}/noi-dung")
    assert campaign.status == "draft" and campaign.recipient_lines == [
        "Ban Dân vận Tỉnh ủy",
        "Giám đốc, các Phó Giám đốc Sở",
    ]
    page = client.get(f"/quan-tri/ke-hoach/{campaign.id}").get_data(as_text=True)
    assert 'value="01/10/2024"' in page and "Công bố kế hoạch" in page
    data["report_deadline"] = "20/10/2024"
    client.post(f"/quan-tri/ke-hoach/{campaign.id}", data=data)
    page = client.get(f"/quan-tri/ke-hoach/{campaign.id}").get_data(as_text=True)
    assert "Hạn gửi báo cáo (20/10/2024) sớm hơn ngày kết thúc thực hiện" in page
    assert "Đã lưu kế hoạch" in page


def test_content_item_pages(world, login):
    client = login(world.admin)
    campaign = world.campaign
    base = f"/quan-tri/ke-hoach/{campaign.id}/noi-dung"
    response = client.post(base, data={"title": ""})
    assert response.status_code == 422
    assert "Vui lòng nhập tên nội dung." in response.get_data(as_text=True)
    client.post(base, data={"title": "Dân vận khéo"})
    item = campaign.content_items[-1]
    client.post(f"{base}/{item.id}/len")
    page = client.get(base).get_data(as_text=True)
    assert "Đã chuyển nội dung “Dân vận khéo” đến vị trí số 2." in page
    entry_in(world)
    db.session.commit()
    used = campaign.content_items[0]
    page = client.post(f"{base}/{used.id}/xoa", follow_redirects=True).get_data(as_text=True)
    assert "Không xóa được nội dung" in page and db.session.get(type(used), used.id)
    page = client.post(f"{base}/{used.id}/luu-tru", follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu trữ nội dung" in page and "1 hồ sơ đã có vẫn giữ nguyên" in page
    assert client.post(f"{base}/{used.id}/approve").status_code == 404
    other = create_campaign(world.agency, year=2022)
    db.session.commit()
    assert client.get(f"/quan-tri/ke-hoach/{other.id}/noi-dung/{used.id}").status_code == 404


def selected_kinds(html: str) -> list[str]:
    """The kind chosen in each row of the chain editor, in order."""
    selects = re.findall(r'<select[^>]*name="steps-\d+-kind"[^>]*>(.*?)</select>', html, re.S)
    chosen = [[o for o in re.findall(r"<option([^>]*)>", s) if " selected" in o] for s in selects]
    return [re.search(r'value="(\w+)"', options[0])[1] for options in chosen]


def _chain_post(client, campaign, steps, command):
    data = {"thao_tac": command}
    for n, (kind, user_id) in enumerate(steps):
        data[f"steps-{n}-kind"] = kind
        data[f"steps-{n}-user_id"] = str(user_id or 0)
    return client.post(f"/quan-tri/ke-hoach/{campaign.id}/quy-trinh", data=data)


def test_chain_editor_without_javascript(world, login):
    client = login(world.admin)
    campaign = world.campaign
    page = client.get(f"/quan-tri/ke-hoach/{campaign.id}/quy-trinh").get_data(as_text=True)
    assert 'name="steps-1-kind"' in page and "Lưu chuỗi phê duyệt" in page

    # Add a step (the next unused kind), move it up, choose the deputy: one POST each.
    page = _chain_post(client, campaign, [("unit_head", 0), ("office", 0)], "them")
    html = page.get_data(as_text=True)
    assert selected_kinds(html) == ["unit_head", "office", "office_chief"]
    assert "Thay đổi chưa được lưu" in html
    steps = [("unit_head", 0), ("office", 0), ("deputy", world.deputy.id)]
    html = _chain_post(client, campaign, steps, "len-2").get_data(as_text=True)
    assert selected_kinds(html) == ["unit_head", "deputy", "office"]
    assert 'id="step-1-len" aria-label="Chuyển bước 2 lên" autofocus' in html
    assert campaign.chain == [{"kind": "unit_head"}, {"kind": "office"}]  # nothing saved yet

    # A refused chain: each problem in Vietnamese, announced.
    refused = _chain_post(client, campaign, [("unit_head", 0), ("deputy", 0)], "luu")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'role="alert" id="chain-problems"' in html
    assert "Bước 2 (Phó Giám đốc phụ trách): chưa chọn người duyệt." in html

    # The preview, then saving.
    steps = [("unit_head", 0), ("deputy", world.deputy.id), ("office", 0)]
    html = _chain_post(client, campaign, steps, "xem-truoc").get_data(as_text=True)
    assert "Xem trước ảnh hưởng" in html and "Chờ Phó Giám đốc phụ trách Trần Thị Thu Hà" in html
    assert 'id="chain-ok"' in html
    saved = _chain_post(client, campaign, steps, "luu")
    assert saved.status_code == 303
    assert [s.label for s in campaign.steps] == [
        "Trưởng phòng",
        "Phó Giám đốc phụ trách Trần Thị Thu Hà",
        "Văn phòng Sở",
    ]
    html = client.get(f"/quan-tri/ke-hoach/{campaign.id}/quy-trinh").get_data(as_text=True)
    assert "Đã lưu chuỗi phê duyệt" in html

    # Remove a step; a forged kind is a field error, not a 500.
    html = _chain_post(client, campaign, steps, "xoa-1").get_data(as_text=True)
    assert 'name="steps-2-kind"' not in html
    forged = _chain_post(client, campaign, [("director", 0)], "luu")
    assert forged.status_code == 422 and "Lựa chọn không hợp lệ" in forged.get_data(as_text=True)


def test_copy_page_asks_before_copying(world, login):
    client = login(world.admin)
    url = f"/quan-tri/ke-hoach/{world.campaign.id}/sao-chep"
    page = client.get(url).get_data(as_text=True)
    assert "15/10/2024 – Ngày truyền thống công tác dân vận (94 năm)" in page
    assert "Tạo kế hoạch năm 2024" in page
    client.post(url)  # without the confirmation: nothing
    assert db.session.scalar(select(Campaign).where(Campaign.year == 2024)) is None
    response = client.post(url, data={"xac_nhan": "1"})
    copy = db.session.scalar(select(Campaign).where(Campaign.year == 2024))
    assert response.headers["Location"].endswith(f"/quan-tri/ke-hoach/{copy.id}")
    assert copy.status == "draft"


def test_the_administration_log_names_campaign_changes(world, login):
    campaign = world.campaign
    ops.set_chain(campaign, [UNIT_HEAD, deputy_step(world), OFFICE], actor=world.admin)
    ops.add_content_item(campaign, actor=world.admin, title="Dân vận khéo")
    db.session.commit()
    page = login(world.admin).get(f"/quan-tri/nhat-ky?doi_tuong=campaign&ma={campaign.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("Đổi quy trình duyệt", "Quy trình duyệt", "Thêm nội dung", "Dân vận khéo"):
        assert text in html, text
    assert "Phó Giám đốc phụ trách Trần Thị Thu Hà" in html


def test_an_entry_keeps_its_archived_item_in_its_own_form(world, app):
    from danvan.operations import entries as entry_ops

    entry = entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    item = world.campaign.content_items[0]
    ops.archive_content_item(item, actor=world.admin)
    db.session.commit()
    with app.test_request_context():
        form = EntryForm(obj=entry, campaign=world.campaign)
        fresh = EntryForm(campaign=world.campaign)
    assert item.id in [c.value for c in form.content_item_id.choices]
    assert item.id not in [c.value for c in fresh.content_item_id.choices]
    entry_ops.update_entry(
        entry,
        actor=world.staff_a,
        fields=world.entry_fields(content_item_id=item.id, title="Vẫn nội dung cũ"),
        expected_version=entry.version,
    )
    with pytest.raises(Invalid):
        entry_ops.create_entry(
            world.campaign, actor=world.staff_a, fields=world.entry_fields(content_item_id=item.id)
        )


def test_draft_and_closed_campaigns_take_no_new_entries(world):
    from danvan.operations import NotAllowed
    from danvan.operations import entries as entry_ops
    from danvan.queries import visible_campaigns

    world.campaign.status = "draft"
    db.session.commit()
    assert world.campaign not in visible_campaigns(world.staff_a)
    assert world.campaign in visible_campaigns(world.admin)
    with pytest.raises(NotAllowed):
        entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    world.campaign.status = "active"
    entry = entry_ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    world.campaign.status = "closed"
    with pytest.raises(NotAllowed):
        entry_ops.act(entry, entry_ops.EntryAction.SUBMIT, actor=world.staff_a)
