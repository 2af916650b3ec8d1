"""Sending the issued report to its Nơi nhận by e-mail, through a real SMTP server (aiosmtpd).

Addresses are kept per Nơi nhận line (Quản trị, Văn phòng); Văn thư chooses the recipients at
"Phát hành"; each one gets a Delivery and a mail with the signed PDF; the report page shows
the status (sent, retrying, failed, received) and lets Văn thư send again or send to more.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from danvan import delivery
from danvan.extensions import db
from danvan.mail import MAX_ATTEMPTS, send_outbox
from danvan.models import (
    ArchivedDocument,
    AuditLog,
    Blob,
    CampaignRecipient,
    Delivery,
    OutboxMessage,
    Report,
)
from danvan.operations import reports as report_ops
from tests.factories import SIGNED_AT, create_campaign, services_for, signed_report

BAN = "Ban Dân vận Tỉnh ủy"
UNITS = "Các phòng chuyên môn, đơn vị thuộc Sở"
WEBSITE = "Website của Sở"
BAN_MAIL = "bandanvan@tinhuy.example.vn"
UNITS_MAIL = "cacphong@sxd.example.vn"


class Inbox:
    """Keeps every message; refuses the RCPT of the addresses in ``refuse`` with 550."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    def to(self, *addresses: str) -> list:
        """The messages to these addresses (workflow notices go to the users too)."""
        return [(r, m) for r, m in self.messages if set(r) & set(addresses)]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Hộp thư không tồn tại"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


def mails_out():
    """The outbox's messages carrying a document (not the workflow notices)."""
    return select(OutboxMessage).where(OutboxMessage.attachment_sha256.is_not(None))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port; the app sends to it."""
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield port, handler
    controller.stop()


@pytest.fixture
def addressed(dept):
    """The campaign's Nơi nhận: two with an e-mail, one without, plus the lines not sent to."""
    dept.campaign.recipients = f"- {BAN};\n{UNITS}\n{WEBSITE}\nNhư trên\nLưu: VT, VP."
    db.session.add_all(
        [
            CampaignRecipient(
                campaign_id=dept.campaign.id, name=BAN, email=BAN_MAIL, organ_id="000.00.00.H23"
            ),
            CampaignRecipient(campaign_id=dept.campaign.id, name=UNITS, email=UNITS_MAIL),
        ]
    )
    db.session.commit()
    return dept


def recipient(name: str) -> CampaignRecipient:
    return db.session.scalar(select(CampaignRecipient).where(CampaignRecipient.name == name))


def issue(client, report: Report, *recipients: CampaignRecipient, extra_ids=()):
    ids = [str(r.id) for r in recipients] + [str(i) for i in extra_ids]
    return client.post(
        f"/bao-cao/{report.id}/thao-tac/issue",
        data={"version": str(report.version), "recipients": ids},
    )


def issued_by_operation(dept, app, report, *recipients):
    """Issue with the operation itself (mail is then sent by send_outbox, as the CLI does)."""
    archived = report_ops.issue_report(
        report,
        actor=dept.clerk,
        expected_version=report.version,
        now=SIGNED_AT,
        services=services_for(app, dept.clerk, dept.agency, make_pdf=False),
        recipients=list(recipients),
    )
    db.session.commit()
    return archived


def statuses() -> dict[str, tuple[str, str, str]]:
    db.session.expire_all()
    return {
        d.recipient_name: tuple(delivery.delivery_status(d))
        for d in db.session.scalars(select(Delivery))
    }


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


# --- Issue with recipients ----------------------------------------------------------------


def test_issue_to_two_recipients_mails_the_signed_pdf(
    addressed, app, login, smtp, cached_conversion, count_queries
):
    port, inbox = smtp
    report, _ = signed_report(addressed, app, make_pdf=True)
    client = login(addressed.clerk)
    page = client.get(f"/bao-cao/{report.id}/xac-nhan/issue").get_data(as_text=True)
    ban, units = recipient(BAN), recipient(UNITS)
    assert f'name="recipients" value="{ban.id}" id="recipient-{ban.id}-page" checked' in page
    assert f'value="{units.id}"' in page
    assert "chưa có địa chỉ e-mail — quản trị/Văn phòng cập nhật ở Địa chỉ gửi văn bản" in page
    assert "Như trên" not in page.split("confirm-recipients")[1].split("</fieldset>")[0]

    response = issue(client, report, ban, units)
    assert response.status_code == 303
    archived = db.session.scalars(select(ArchivedDocument)).one()
    pdf = db.session.get(Blob, archived.pdf_sha256).data
    mails = inbox.to(BAN_MAIL, UNITS_MAIL)
    assert sorted(rcpt[0] for rcpt, _ in mails) == [BAN_MAIL, UNITS_MAIL]
    for _, message in mails:
        assert message["Subject"] == (
            "[Sở Xây dựng tỉnh Hà Nam] Báo cáo số 01/BC-SXD ngày 03/11/2023: Kết quả triển khai "
            "Tháng cao điểm thực hiện công tác dân vận năm 2023"
        )
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "Người ký: Giám đốc Nguyễn Quang Huy." in body
        assert "/xm/" in body  # the verification URL printed on the document
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == "2023-01-BC-SXD.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == pdf
    assert {name: s[:2] for name, s in statuses().items()} == {
        BAN: ("sent", "Đã chuyển tới máy chủ thư"),
        UNITS: ("sent", "Đã chuyển tới máy chủ thư"),
    }

    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert 'id="deliveries"' in page and "Gửi văn bản" in page
    assert page.count("Đã chuyển tới máy chủ thư") == 2 and BAN_MAIL in page
    assert "Gửi thêm" not in page  # every recipient with an address has it
    # One query for the deliveries, however many there are.
    with count_queries() as two:
        client.get(f"/bao-cao/{report.id}")
    db.session.add(
        Delivery(archived_document_id=archived.id, channel="edxml", recipient_name="Khác")
    )
    db.session.commit()
    with count_queries() as three:
        client.get(f"/bao-cao/{report.id}")
    assert three.n == two.n


def test_issue_without_a_pdf_sends_the_docx_and_its_signature(addressed, app, smtp):
    import io
    import zipfile

    _, inbox = smtp
    report, _ = signed_report(addressed, app)
    archived = issued_by_operation(addressed, app, report, recipient(BAN))
    send_outbox(app.config)
    (attachment,) = list(inbox.to(BAN_MAIL)[0][1].iter_attachments())
    assert attachment.get_filename() == "2023-01-BC-SXD.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as zf:
        assert zf.read("2023-01-BC-SXD.docx") == db.session.get(Blob, archived.docx_sha256).data
        assert zf.read("2023-01-BC-SXD.docx.p7s") == db.session.get(Blob, archived.p7s_sha256).data


def test_a_foreign_or_addressless_recipient_is_refused_and_nothing_issued(addressed, app, login):
    report, _ = signed_report(addressed, app)
    other = create_campaign(addressed.agency, year=2024)
    db.session.flush()
    foreign = CampaignRecipient(campaign_id=other.id, name=BAN, email="x@example.vn")
    no_mail = CampaignRecipient(campaign_id=addressed.campaign.id, name=WEBSITE, email=None)
    db.session.add_all([foreign, no_mail])
    db.session.commit()
    client = login(addressed.clerk)
    for bad in ([foreign.id], [no_mail.id], [999999], ["abc"]):
        response = issue(client, report, recipient(BAN), extra_ids=bad)
        assert response.status_code == 303
        page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
        assert "không thuộc kế hoạch này hoặc chưa có địa chỉ e-mail" in flashes(page)
        assert db.session.scalar(select(func.count(ArchivedDocument.id))) == 0
        assert db.session.scalar(select(func.count(Delivery.id))) == 0
        assert db.session.get(Report, report.id).state == "signed"


def test_issue_without_choosing_anyone_sends_nothing(addressed, app, login):
    report, _ = signed_report(addressed, app)
    assert issue(login(addressed.clerk), report).status_code == 303
    assert db.session.get(Report, report.id).state == "issued"
    assert db.session.scalar(select(func.count(Delivery.id))) == 0


# --- Failures, retries, "Gửi lại" -----------------------------------------------------------


def test_mail_server_down_retries_then_fails_then_resend_delivers(addressed, app, login):
    report, _ = signed_report(addressed, app)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens
    issued_by_operation(addressed, app, report, recipient(BAN))
    assert statuses()[BAN] == ("queued", "Đang chờ gửi", "")
    send_outbox(app.config)
    code, label, detail = statuses()[BAN]
    assert (code, label) == ("retrying", "Đang thử lại (lần 1)") and "refused" in detail.lower()
    for _ in range(MAX_ATTEMPTS - 1):
        send_outbox(app.config)
    code, label, detail = statuses()[BAN]
    assert (code, label) == ("failed", "Gửi thất bại") and detail
    send_outbox(app.config)  # no more attempts
    assert db.session.scalars(mails_out()).one().attempts == MAX_ATTEMPTS

    client = login(addressed.clerk)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "Gửi thất bại" in page and "Gửi lại" in page and detail in page
    item = db.session.scalars(select(Delivery)).one()
    # The server is back.
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_PORT=port)
        response = client.post(
            f"/bao-cao/{report.id}/gui/{item.id}/gui-lai", data={"version": str(item.version)}
        )
        assert response.status_code == 303
    finally:
        controller.stop()
    assert [rcpt for rcpt, _ in handler.to(BAN_MAIL, UNITS_MAIL)] == [[BAN_MAIL]]
    assert statuses()[BAN][:2] == ("sent", "Đã chuyển tới máy chủ thư")
    # The delivery points to the newest message; the failed one stays in the outbox.
    messages = db.session.scalars(mails_out().order_by(OutboxMessage.id)).all()
    assert len(messages) == 2 and messages[0].sent_at is None and messages[1].sent_at
    assert db.session.get(Delivery, item.id).outbox_message_id == messages[1].id
    # A delivered mail is not sent again.
    item = db.session.get(Delivery, item.id)
    client.post(f"/bao-cao/{report.id}/gui/{item.id}/gui-lai", data={"version": item.version})
    assert len(db.session.scalars(mails_out()).all()) == 2


def test_a_refused_recipient_fails_at_once_and_the_other_is_delivered(addressed, app, smtp):
    _, inbox = smtp
    inbox.refuse.add(UNITS_MAIL)
    report, _ = signed_report(addressed, app)
    issued_by_operation(addressed, app, report, recipient(BAN), recipient(UNITS))
    send_outbox(app.config)
    assert [rcpt for rcpt, _ in inbox.to(BAN_MAIL, UNITS_MAIL)] == [[BAN_MAIL]]
    shown = statuses()
    assert shown[BAN][0] == "sent"
    code, label, detail = shown[UNITS]
    assert (code, label) == ("failed", "Gửi thất bại") and "550" in detail


def test_an_attachment_the_server_refuses_records_the_error(addressed, app):
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, data_size_limit=2000)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        report, _ = signed_report(addressed, app)
        issued_by_operation(addressed, app, report, recipient(BAN))
        send_outbox(app.config)
    finally:
        controller.stop()
    code, label, detail = statuses()[BAN]
    assert code == "failed" and "552" in detail


# --- "Gửi thêm"; who may act ---------------------------------------------------------------


def test_clerk_sends_to_a_recipient_not_chosen_at_issue(addressed, app, login, smtp):
    _, inbox = smtp
    report, _ = signed_report(addressed, app)
    client = login(addressed.clerk)
    issue(client, report, recipient(BAN))
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    units = recipient(UNITS)
    assert 'id="add-delivery"' in page and f'id="add-recipient-{units.id}"' in page
    assert f'id="add-recipient-{recipient(BAN).id}"' not in page
    client.post(f"/bao-cao/{report.id}/gui-them", data={"recipients": [str(units.id)]})
    assert sorted(r[0] for r, _ in inbox.to(BAN_MAIL, UNITS_MAIL)) == [BAN_MAIL, UNITS_MAIL]
    assert set(statuses()) == {BAN, UNITS}
    # Twice to the same recipient: refused.
    page = client.post(
        f"/bao-cao/{report.id}/gui-them",
        data={"recipients": [str(units.id)]},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Văn bản đã được gửi tới “Các phòng chuyên môn, đơn vị thuộc Sở”" in flashes(page)
    assert db.session.scalar(select(func.count(Delivery.id))) == 2


def test_only_the_clerk_may_send(addressed, app, login):
    report, _ = signed_report(addressed, app)
    archived = issued_by_operation(addressed, app, report, recipient(BAN))
    item = db.session.scalars(select(Delivery)).one()
    item.outbox_message.attempts = MAX_ATTEMPTS
    item.outbox_message.last_error = "lỗi"
    db.session.commit()
    for user in (addressed.office, addressed.director, addressed.admin):
        client = login(user)
        page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
        assert "Gửi văn bản" in page and "Gửi thất bại" in page
        assert "gui-lai" not in page and 'id="add-delivery"' not in page
        resend = client.post(f"/bao-cao/{report.id}/gui/{item.id}/gui-lai", data={})
        add = client.post(
            f"/bao-cao/{report.id}/gui-them", data={"recipients": [str(recipient(UNITS).id)]}
        )
        assert (resend.status_code, add.status_code) == (403, 403), user.username
    assert login(addressed.staff_a).get(f"/bao-cao/{report.id}").status_code == 404
    with pytest.raises(delivery.NotAllowed):
        delivery.resend(item, actor=addressed.office)
    with pytest.raises(delivery.NotAllowed):
        delivery.add_deliveries(archived, [recipient(UNITS)], actor=addressed.office)
    assert len(db.session.scalars(mails_out()).all()) == 1


def test_a_receipt_shows_as_received(addressed, app):
    report, _ = signed_report(addressed, app)
    issued_by_operation(addressed, app, report, recipient(BAN))
    item = db.session.scalars(select(Delivery)).one()
    item.status_code, item.status_at = "03", datetime(2023, 11, 4, 1, 0, tzinfo=UTC)
    db.session.commit()
    code, label, detail = delivery.delivery_status(item)
    assert (code, label) == ("received", "Đã nhận") and "Đã tiếp nhận" in detail
    item.status_code = "02"
    assert delivery.delivery_status(item).label == "Từ chối tiếp nhận"


# --- Địa chỉ gửi văn bản --------------------------------------------------------------------


def address_form(page: str) -> dict:
    data = dict(
        re.findall(r'name="(rows-\d+-(?:name|version|email|organ_id))" [^>]*?value="([^"]*)"', page)
    )
    return {k: v.replace("&amp;", "&") for k, v in data.items()}


def test_addresses_page_lists_the_lines_and_saves_them(addressed, app, login):
    client = login(addressed.admin)
    url = f"/quan-tri/ke-hoach/{addressed.campaign.id}/dia-chi-gui"
    edit = client.get(f"/quan-tri/ke-hoach/{addressed.campaign.id}").get_data(as_text=True)
    assert f'href="{url}"' in edit and "Địa chỉ gửi văn bản" in edit
    page = client.get(url).get_data(as_text=True)
    data = address_form(page)
    names = [data[f"rows-{i}-name"] for i in range(3)]
    assert names == [BAN, UNITS, WEBSITE] and "rows-3-name" not in data  # no "Như trên", "Lưu"
    assert data["rows-0-email"] == BAN_MAIL and data["rows-2-email"] == ""

    # An invalid e-mail: refused in Vietnamese, what was typed is kept, nothing saved.
    bad = {**data, "rows-2-email": "website@", "rows-2-organ_id": "000.00.31.H23"}
    response = client.post(url, data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Địa chỉ e-mail của “Website của Sở” không hợp lệ" in page
    assert 'value="website@"' in page and 'value="000.00.31.H23"' in page
    assert recipient(WEBSITE) is None
    bad = {**data, "rows-2-email": "web@sxd.example.vn", "rows-2-organ_id": "000 00/31"}
    page = client.post(url, data=bad).get_data(as_text=True)
    assert "Mã định danh của “Website của Sở” chỉ gồm chữ, số và dấu chấm" in page

    good = {**data, "rows-2-email": "web@sxd.example.vn", "rows-0-organ_id": "000.00.31.H23"}
    assert client.post(url, data=good).status_code == 303
    assert recipient(WEBSITE).email == "web@sxd.example.vn"
    assert recipient(BAN).organ_id == "000.00.31.H23" and recipient(BAN).version == 2
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "update_recipients")).one()
    assert log.object_type == "campaign" and log.object_id == addressed.campaign.id
    assert log.after[WEBSITE]["email"] == "web@sxd.example.vn"
    assert log.before[WEBSITE] == {"email": None, "organ_id": None}

    # The page as loaded before that save: its versions are stale, nothing is overwritten.
    stale = {**data, "rows-0-email": "khac@example.vn"}
    page = client.post(url, data=stale, follow_redirects=True).get_data(as_text=True)
    assert "vừa được người khác thay đổi" in flashes(page)
    assert recipient(BAN).email == BAN_MAIL

    # A line removed from Nơi nhận: its row is no longer shown nor offered at issue.
    addressed.campaign.recipients = f"{BAN}\n{WEBSITE}"
    db.session.commit()
    data = address_form(client.get(url).get_data(as_text=True))
    assert [data[f"rows-{i}-name"] for i in range(2)] == [
        BAN,
        WEBSITE,
    ] and "rows-2-name" not in data
    assert [n for n, _ in delivery.recipient_rows(addressed.campaign)] == [BAN, WEBSITE]


def test_who_may_edit_addresses(addressed, login):
    url = f"/quan-tri/ke-hoach/{addressed.campaign.id}/dia-chi-gui"
    for user in (addressed.office, addressed.chief, addressed.admin):
        assert login(user).get(url).status_code == 200, user.username
    for user in (addressed.clerk, addressed.staff_a, addressed.director):
        assert login(user).get(url).status_code == 403, user.username
    # Văn phòng still cannot open the rest of the campaign administration.
    assert (
        login(addressed.office).get(f"/quan-tri/ke-hoach/{addressed.campaign.id}").status_code
        == 403
    )
