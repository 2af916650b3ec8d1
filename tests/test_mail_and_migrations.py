"""Notifications through a real SMTP server (aiosmtpd); Alembic upgrade and downgrade."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from danvan import create_app
from danvan.extensions import db
from danvan.models import Entry, OutboxMessage
from danvan.operations import entries as ops
from danvan.workflow import EntryAction
from tests.factories import waiting_at


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def test_submit_and_return_send_vietnamese_mail(world, app, login, smtp):
    port, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    login(world.staff_a).post(
        f"/hoat-dong/{entry.id}/thao-tac/submit", data={"version": entry.version}
    )
    assert [rcpt for rcpt, _ in inbox.messages] == [["tp.a@example.vn"]]
    message = inbox.messages[0][1]
    assert message["Subject"].startswith("[danvan] Chờ Trưởng phòng duyệt")
    body = message.get_content()
    assert "Kính gửi Vũ Đức Minh" in body and f"/hoat-dong/{entry.id}" in body
    entry = db.session.get(Entry, entry.id)
    login(world.head_a).post(
        f"/hoat-dong/{entry.id}/thao-tac/return",
        data={"version": entry.version, "comment": "Bổ sung ảnh"},
    )
    assert inbox.messages[-1][0] == ["cv.a@example.vn"]
    assert "Ý kiến: Bổ sung ảnh" in inbox.messages[-1][1].get_content()
    assert db.session.query(OutboxMessage).filter(OutboxMessage.sent_at.is_(None)).count() == 0


def test_mail_server_down_keeps_messages_queued(world, app, login):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=dead_port)
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    response = login(world.staff_a).post(
        f"/hoat-dong/{entry.id}/thao-tac/submit", data={"version": entry.version}
    )
    assert response.status_code == 303  # the decision stands even though mail failed
    assert waiting_at(db.session.get(Entry, entry.id)) == "unit_head"
    queued = db.session.query(OutboxMessage).one()
    assert queued.sent_at is None and queued.attempts == 1 and queued.last_error


def test_migrations_downgrade_and_upgrade(app_config, tmp_path, backend):
    if backend[0] == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    else:
        url = app_config["SQLALCHEMY_DATABASE_URI"]
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory)
        tables = set(inspect(db.engine).get_table_names())
        assert {"entry", "event", "report", "archived_document", "alembic_version"} <= tables
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=directory)
        assert "entry" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_schema_matches_models(app):
    """No model change without a migration (autogenerate finds nothing to do); the search
    index's own objects (FTS5 tables, the trigram index) and the queue's tables are left out
    as env.py does."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from danvan.migration_objects import include_object

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_seed_demo_runs_through_real_operations(app, tmp_path):
    from danvan import keys
    from danvan.models import ArchivedDocument
    from danvan.operations.archive import check_archive
    from danvan.seed import PAST_ENTRIES_PER_UNIT, UNITS, seed_demo

    objects = seed_demo(config={}, instance_path=str(tmp_path))
    db.session.commit()
    states = {waiting_at(e) or e.state for e in db.session.query(Entry).all()}
    assert {
        "draft",
        "unit_head",
        "office",
        "approved",
        "returned",
        "withdrawn",
        "signed",
    } <= states
    assert objects["past"].year == 2023
    assert (
        db.session.query(Entry).filter_by(campaign_id=objects["past"].id, state="signed").count()
        == sum(not is_office for _, _, is_office in UNITS) * PAST_ENTRIES_PER_UNIT
    )
    archived = db.session.query(ArchivedDocument).one()
    assert archived.number_symbol == "01/BC-SXD" and archived.signer_name == "Nguyễn Quang Huy"
    roots = keys.trust_roots({}, str(tmp_path))
    assert [c.ok for c in check_archive(roots)] == [True]
    from danvan.models import Event

    years = {
        e.action: e.created_at.year
        for e in db.session.query(Event).filter_by(report_id=objects["report"].id)
    }
    assert years == {"compile": 2023, "submit": 2023, "sign": 2023, "issue": 2023}
    assert EntryAction.SUBMIT.label == "Gửi duyệt"
    # Delivered: e-mails queued to the Nơi nhận with an address, edXML to Ban Dân vận with
    # its "Đã tiếp nhận" reply recorded.
    from danvan.delivery import delivery_status
    from danvan.models import Delivery

    deliveries = db.session.query(Delivery).order_by(Delivery.id).all()
    emailed = [d.recipient_name for d in deliveries if d.channel == "email"]
    assert emailed == [
        "Ban Dân vận Tỉnh ủy",
        "Ban Tuyên giáo Đảng ủy khối",
        "Giám đốc, các Phó Giám đốc Sở",
    ]
    edxml = [d for d in deliveries if d.channel == "edxml"]
    assert len(edxml) == 1 and edxml[0].status_code == "03" and edxml[0].received_at
    status = delivery_status(edxml[0])
    assert status.label == "Đã nhận" and status.detail.startswith("Đã tiếp nhận")


def test_remind_command_mails_authors_and_approvers(world, app, smtp):
    port, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    draft = ops.create_entry(
        world.campaign, actor=world.staff_a, fields=world.entry_fields(title="Bản nháp chưa gửi")
    )
    pending = ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields())
    ops.act(pending, EntryAction.SUBMIT, actor=world.staff_b)
    db.session.commit()
    inbox.messages.clear()
    result = app.test_cli_runner().invoke(args=["danvan", "remind"])
    assert result.exit_code == 0, result.output
    by_rcpt = {rcpt[0]: msg for rcpt, msg in inbox.messages}
    # The 2023 deadline is long past: besides the draft's author and the approver, unit A
    # (a draft only) hears it has sent nothing, and Văn phòng that no report went up.
    assert set(by_rcpt) == {
        "cv.a@example.vn",
        "tp.b@example.vn",
        "cv.a2@example.vn",
        "tp.a@example.vn",
        "vp@example.vn",
        "cvp@example.vn",
    }
    assert "chưa gửi hoạt động nào" in by_rcpt["cv.a2@example.vn"].get_content()
    assert "chưa gửi hoạt động nào" not in by_rcpt["tp.b@example.vn"].get_content()
    assert "Bản nháp chưa gửi (Nháp)" in by_rcpt["cv.a@example.vn"].get_content()
    assert f"/hoat-dong/{draft.id}" in by_rcpt["cv.a@example.vn"].get_content()
    assert "chờ bạn duyệt: 1 hồ sơ" in by_rcpt["tp.b@example.vn"].get_content()
    assert "05/11/2023" in by_rcpt["tp.b@example.vn"]["Subject"]
