"""Văn thư issues a signed report choosing its recipients, then sees what was sent, in Chromium.

The report is signed with the operations (PDF/A through LibreOffice); the clerk opens the
"Phát hành" dialog, sees the Nơi nhận with an e-mail ticked and the one without disabled,
leaves one out, issues, and reads the "Gửi văn bản" table; then "Gửi thêm" to the one left out.
"""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import CampaignRecipient
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import make_dept, require, signed_report
from tests.test_delivery import BAN, BAN_MAIL, UNITS, UNITS_MAIL, WEBSITE, Inbox

NUMBER = "01/BC-SXD"


def test_clerk_issues_choosing_recipients_and_sees_the_deliveries(
    world, app, key_dir, page_for, shot, cached_conversion
):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    dept = make_dept(world)
    dept.campaign.recipients = f"{BAN}\n{UNITS}\n{WEBSITE}"
    db.session.add_all(
        [
            CampaignRecipient(campaign_id=dept.campaign.id, name=BAN, email=BAN_MAIL),
            CampaignRecipient(campaign_id=dept.campaign.id, name=UNITS, email=UNITS_MAIL),
        ]
    )
    db.session.commit()
    report, _ = signed_report(dept, app, make_pdf=True)
    report_id = report.id
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        clerk = page_for(dept.clerk)
        clerk.goto(f"/bao-cao/{report_id}")
        clerk.locator("#report-actions").get_by_role("link", name="Phát hành").click()
        dialog = clerk.get_by_role("dialog", name=f"Phát hành báo cáo số {NUMBER}?")
        ban = dialog.get_by_role("checkbox", name=f"{BAN} ({BAN_MAIL})")
        units = dialog.get_by_role("checkbox", name=f"{UNITS} ({UNITS_MAIL})")
        website = dialog.get_by_role("checkbox", name=WEBSITE)
        expect(ban).to_be_checked()
        expect(units).to_be_checked()
        expect(website).to_be_disabled()
        expect(dialog).to_contain_text("chưa có địa chỉ e-mail — quản trị/Văn phòng cập nhật")
        for viewport, (width, height) in {"desktop": (1366, 768), "phone": (390, 844)}.items():
            clerk.set_viewport_size({"width": width, "height": height})
            clerk.screenshot(path=str(SCREENSHOTS / f"delivery-issue-dialog-{viewport}.png"))
        clerk.set_viewport_size({"width": 1366, "height": 768})
        units.uncheck()
        dialog.get_by_role("button", name="Phát hành").click()
        expect(clerk.locator(".alert").filter(has_text="Đã phát hành báo cáo số")).to_be_visible()

        section = clerk.locator("#deliveries")
        expect(section.get_by_role("heading", name="Gửi văn bản")).to_be_visible()
        rows = section.locator("#delivery-table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(BAN)
        expect(rows.first).to_contain_text("E-mail")
        expect(rows.first).to_contain_text(BAN_MAIL)
        expect(rows.first).to_contain_text("Đã chuyển tới máy chủ thư")
        assert [r for r, _ in inbox.to(BAN_MAIL, UNITS_MAIL)] == [[BAN_MAIL]]

        # "Gửi thêm" to the recipient left out at issue.
        section.get_by_role("checkbox", name=f"{UNITS} ({UNITS_MAIL})").check()
        section.get_by_role("button", name="Gửi thêm").click()
        expect(clerk.locator(".alert").filter(has_text="Đã gửi thêm văn bản tới")).to_be_visible()
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("Đã chuyển tới máy chủ thư")
        expect(section.locator("#add-delivery")).to_have_count(0)
        for viewport, (width, height) in {"desktop": (1366, 768), "phone": (390, 844)}.items():
            clerk.set_viewport_size({"width": width, "height": height})
            shot(clerk, f"deliveries-{viewport}")
    finally:
        controller.stop()
    assert sorted(r[0] for r, _ in inbox.to(BAN_MAIL, UNITS_MAIL)) == [BAN_MAIL, UNITS_MAIL]
