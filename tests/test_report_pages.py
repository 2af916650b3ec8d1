"""The report pages a new user meets: the whole text before signing, confirmations that name
the number, the page preview rendered in the background, "Báo cáo bổ sung" after the issue, an
empty draft deleted, download names, staff reading the issued PDF, and the seal's place."""

from __future__ import annotations

import html
import io
import re
import subprocess
import threading
import zipfile
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image
from sqlalchemy import func, select

from danvan import create_app
from danvan.archive.views import sent_to_unit
from danvan.documents import pdf as pdfmod
from danvan.documents.html import docx_html
from danvan.extensions import db
from danvan.models import (
    ArchivedDocument,
    Blob,
    DraftPreview,
    DraftPreviewPage,
    Event,
    NumberSequence,
    Report,
)
from danvan.operations import Invalid, NotAllowed
from danvan.operations import reports as ops
from danvan.reports import previews
from danvan.text import today_vn, utcnow
from danvan.workflow import ReportState
from tests.factories import PASSWORD, approve, create_campaign, require, signed_report, submitted

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TODAY = f"{today_vn():%d/%m/%Y}"


@pytest.fixture
def no_libreoffice_signing(monkeypatch):
    """Sign and issue through the pages without LibreOffice (.docx + .p7s): fast."""
    monkeypatch.setattr(pdfmod, "libreoffice_available", lambda: False)


def flashes(response) -> list[str]:
    page = response.get_data(as_text=True)
    found = re.findall(r'role="alert">\s*(.*?)\s*<button', page, re.DOTALL)
    return [html.unescape(m) for m in found]


def docx_paragraphs(docx: bytes) -> list[str]:
    """Every non-empty paragraph of the .docx body (tables included), in document order."""
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    out = []
    for p in root.iter(f"{W}p"):
        text = "".join(t.text or "" for t in p.iter(f"{W}t"))
        if text.strip():
            out.append(" ".join(text.split()))
    return out


class _Paragraphs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth, self.current, self.found = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self.depth, self.current = 1, []

    def handle_endtag(self, tag):
        if tag == "p" and self.depth:
            text = " ".join("".join(self.current).split())
            if text:
                self.found.append(text)
            self.depth = 0

    def handle_data(self, data):
        if self.depth:
            self.current.append(data)


def html_paragraphs(page: str, element_id: str = "report-text") -> list[str]:
    start = page.index(f'id="{element_id}"')
    end = page.index("</article>", start)
    parser = _Paragraphs()
    parser.feed(page[start:end])
    return parser.found


# --- The whole text, before signing -----------------------------------------------------------


def test_the_director_reads_the_whole_text_that_will_be_signed(dept, login):
    report = submitted(dept)
    page = login(dept.director).get(f"/bao-cao/{report.id}").get_data(as_text=True)
    draft = db.session.get(Blob, report.draft_docx_sha256).data
    # Every paragraph of the document, in order (after the first page's "DỰ THẢO" mark): the
    # page is read from the .docx itself.
    shown = html_paragraphs(page)
    assert shown[0] == "DỰ THẢO" and shown[1:] == docx_paragraphs(draft), shown[:3]
    text = " ".join(html_paragraphs(page))
    assert "II. KẾT QUẢ THỰC HIỆN" in text and "1. Tuyên truyền Ngày truyền thống" in text
    assert "Hoạt động số 1 & <thử> “trích dẫn”" in text  # shown as text, escaped in the HTML
    assert "Hoạt động số 1 &amp; &lt;thử&gt;" in page and "<thử>" not in page
    assert "Nơi nhận:" in text and "GIÁM ĐỐC" in text and dept.director.full_name in text
    assert "DỰ THẢO" in text and "Số: /BC-SXD" in text  # the number is still blank
    assert f"Khi ký, văn bản sẽ mang số <strong>01/BC-SXD</strong> ngày <strong>{TODAY}" in page
    assert f'href="/bao-cao/{report.id}/xem-truoc"' in page  # the page preview: one click
    assert f'href="/bao-cao/{report.id}/xac-nhan/sign"' in page
    assert '<dialog class="confirm-dialog" id="confirm-sign"' in page
    assert 'src="/static/js/reports.js"' in page and "onclick" not in page


def test_the_signed_report_shows_the_signed_text(dept, app, login):
    report, _ = signed_report(dept, app)
    page = login(dept.office).get(f"/bao-cao/{report.id}").get_data(as_text=True)
    final = db.session.get(Blob, report.final_docx_sha256).data
    assert html_paragraphs(page) == docx_paragraphs(final)
    assert "Số: 01/BC-SXD" in html_paragraphs(page) and "DỰ THẢO" not in page
    assert 'class="doc-image" src="data:image/png;base64,' in page  # the signature image
    assert "Toàn văn văn bản đã ký" in page and "xem-truoc" not in page


def test_docx_html_escapes_and_keeps_structure():
    from danvan.documents.context import AgencyInfo, ReportData
    from danvan.documents.report_docx import render_report_docx

    data = ReportData(
        agency=AgencyInfo("UBND TỈNH HÀ NAM", "SỞ XÂY DỰNG", "SXD", "Hà Nam"),
        doc_symbol="BC-SXD",
        number=None,
        issued_date=None,
        draft_year=2026,
        is_draft=True,
        subject="Kết quả <b>thử</b>",
        basis='Thực hiện Kế hoạch & "chỉ đạo".',
        section_leadership="<script>alert(1)</script>",
        content_groups=(),
        total_activities=0,
        total_participants=0,
        total_amount_vnd=0,
        section_strengths="A",
        section_weaknesses="B",
        section_proposals="C",
        recipients=("Ban Dân vận Tỉnh ủy",),
        signer=None,
        appendix=(),
    )
    out = str(docx_html(render_report_docx(data)))
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "Kết quả &lt;b&gt;thử&lt;/b&gt;" in out
    assert '<table class="doc-table doc-plain" role="presentation">' in out  # header table
    assert '<table class="doc-table doc-grid">' in out and '<th scope="col">' in out  # appendix
    assert '<hr class="doc-rule' in out and 'class="doc-boxed">DỰ THẢO' in out
    assert out.count('<div class="doc-page">') == 2  # the appendix starts a new page


# --- Confirmations that name the number -------------------------------------------------------


def test_sign_asks_first_naming_the_number_without_javascript(
    dept, app, login, no_libreoffice_signing
):
    report = submitted(dept)
    db.session.add(NumberSequence(agency_id=dept.agency.id, year=today_vn().year, last_number=1))
    db.session.commit()
    client = login(dept.director)
    page = client.get(f"/bao-cao/{report.id}/xac-nhan/sign").get_data(as_text=True)
    assert f"Văn bản sẽ mang số <strong>02/BC-SXD</strong> ngày <strong>{TODAY}</strong>" in page
    assert f'action="/bao-cao/{report.id}/thao-tac/sign"' in page
    assert 'name="number" value="2"' in page and "Quay lại báo cáo" in page
    # The page only asks: nothing was signed by opening it.
    assert db.session.get(Report, report.id).state == ReportState.SUBMITTED

    # Another document takes 02 meanwhile: the signature stops and the confirmation asks again.
    db.session.execute(
        NumberSequence.__table__.update().values(last_number=2)
    )  # e.g. another campaign's report
    db.session.commit()
    response = client.post(
        f"/bao-cao/{report.id}/thao-tac/sign", data={"version": report.version, "number": "2"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/bao-cao/{report.id}/xac-nhan/sign")
    again = client.get(response.headers["Location"])
    assert any("Số 02/BC-SXD vừa được cấp" in m and "03/BC-SXD" in m for m in flashes(again))
    assert db.session.get(Report, report.id).state == ReportState.SUBMITTED

    response = client.post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": "3"},
        follow_redirects=True,
    )
    assert "Đã ký báo cáo số 03/BC-SXD." in flashes(response)
    assert db.session.get(Report, report.id).number_symbol == "03/BC-SXD"


def test_issue_asks_first_naming_the_number_and_recipients(dept, app, login):
    report, _ = signed_report(dept, app)
    client = login(dept.clerk)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert f'href="/bao-cao/{report.id}/xac-nhan/issue"' in page
    assert '<dialog class="confirm-dialog" id="confirm-issue"' in page
    page = client.get(f"/bao-cao/{report.id}/xac-nhan/issue").get_data(as_text=True)
    assert "Phát hành báo cáo số 01/BC-SXD?" in page
    assert "Văn bản số <strong>01/BC-SXD</strong> ngày <strong>03/11/2023</strong>" in page
    assert "Các phòng chuyên môn, đơn vị thuộc Sở" in page and "Lưu: VT, VP." in page


def test_only_who_may_act_reaches_a_confirmation(dept, app, login):
    report = submitted(dept)
    for user in (dept.office, dept.deputy, dept.clerk):
        response = login(user).get(f"/bao-cao/{report.id}/xac-nhan/sign")
        assert response.status_code == 303, user.username
    response = login(dept.director).get(f"/bao-cao/{report.id}/xac-nhan/compile")
    assert response.status_code == 404
    assert login(dept.staff_a).get(f"/bao-cao/{report.id}/xac-nhan/sign").status_code == 404


# --- Messages name what they acted on ---------------------------------------------------------


def test_flash_messages_name_the_report(dept, app, login, no_libreoffice_signing):
    client = login(dept.office)
    response = client.post(
        f"/ke-hoach/{dept.campaign.id}/tong-hop", data={"version": "0"}, follow_redirects=True
    )
    assert "Đã tổng hợp báo cáo năm 2023 từ 3 hồ sơ đã duyệt." in flashes(response)
    report = db.session.scalars(select(Report)).one()
    response = client.post(
        f"/bao-cao/{report.id}/noi-dung",
        data={"version": report.version, "section_leadership": "Mục I."},
        follow_redirects=True,
    )
    assert "Đã lưu nội dung báo cáo năm 2023." in flashes(response)
    db.session.refresh(report)

    chief = login(dept.chief)
    response = chief.post(
        f"/bao-cao/{report.id}/thao-tac/submit",
        data={"version": report.version, "signer_id": dept.director.id},
        follow_redirects=True,
    )
    assert "Đã trình ký báo cáo năm 2023 tới Giám đốc Nguyễn Quang Huy." in flashes(response)
    db.session.refresh(report)
    director = login(dept.director)
    response = director.post(
        f"/bao-cao/{report.id}/thao-tac/return",
        data={"version": report.version, "comment": "Sửa mục I"},
        follow_redirects=True,
    )
    assert "Đã trả lại báo cáo năm 2023 cho Văn phòng Sở." in flashes(response)
    db.session.refresh(report)
    chief = login(dept.chief)
    chief.post(
        f"/bao-cao/{report.id}/thao-tac/submit",
        data={"version": report.version, "signer_id": dept.deputy.id},
    )
    db.session.refresh(report)
    response = login(dept.deputy).post(
        f"/bao-cao/{report.id}/thao-tac/sign",
        data={"version": report.version, "number": "1"},
        follow_redirects=True,
    )
    assert "Đã ký báo cáo số 01/BC-SXD." in flashes(response)
    db.session.refresh(report)
    response = login(dept.clerk).post(
        f"/bao-cao/{report.id}/thao-tac/issue",
        data={"version": report.version},
        follow_redirects=True,
    )
    assert "Đã phát hành báo cáo số 01/BC-SXD: đã vào sổ văn bản đi và lưu trữ." in flashes(
        response
    )


# --- Download names ---------------------------------------------------------------------------


def _name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    return re.search(r'filename="?([^";]+)"?', disposition).group(1)


def test_download_names_carry_year_and_symbol(dept, app, login):
    draft = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    client = login(dept.office)
    assert _name(client.get(f"/bao-cao/{draft.id}/du-thao.docx")) == "du-thao-bao-cao-2023.docx"
    db.session.rollback()
    ops.submit_report(draft, actor=dept.chief, signer=dept.director, expected_version=draft.version)
    db.session.commit()
    report, _ = signed_report(dept, app, issue=True, report=db.session.get(Report, draft.id))
    names = {
        kind: _name(client.get(f"/bao-cao/{report.id}/tai/{kind}")) for kind in ("docx", "p7s")
    }
    assert names == {"docx": "2023-01-BC-SXD.docx", "p7s": "2023-01-BC-SXD.docx.p7s"}
    doc = db.session.scalars(select(ArchivedDocument)).one()
    archived = {kind: _name(client.get(f"/luu-tru/{doc.id}/{kind}")) for kind in ("docx", "p7s")}
    assert archived == {"docx": "2023-01-BC-SXD.docx", "p7s": "2023-01-BC-SXD.docx.p7s"}


# --- After the issue: "Báo cáo bổ sung", never a silent empty second report -----------------


def test_compile_after_the_issue_offers_a_supplement(dept, app, login):
    report, _ = signed_report(dept, app, issue=True)
    client = login(dept.office)
    response = client.post(f"/ke-hoach/{dept.campaign.id}/tong-hop", data={"version": "0"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/ke-hoach/{dept.campaign.id}/bao-cao-bo-sung")
    assert db.session.scalar(select(func.count(Report.id))) == 1  # nothing created
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Báo cáo số" in page and "<strong>01/BC-SXD</strong>" in page
    assert "<strong>03/11/2023</strong>" in page and "đã được phát hành" in page
    assert "Chưa có hồ sơ nào được duyệt sau khi báo cáo số 01/BC-SXD" in page
    assert ">Báo cáo bổ sung</button>" not in page

    late = approve(dept, dept.staff_b, dept.head_b, title="Hoạt động duyệt sau khi phát hành")
    db.session.commit()
    page = client.get(f"/ke-hoach/{dept.campaign.id}/bao-cao-bo-sung").get_data(as_text=True)
    assert late.title in page and ">Báo cáo bổ sung</button>" in page
    response = client.post(
        f"/ke-hoach/{dept.campaign.id}/tong-hop",
        data={"version": "0", "supplement": "1"},
        follow_redirects=True,
    )
    assert "Đã tổng hợp báo cáo bổ sung năm 2023 từ 1 hồ sơ đã duyệt." in flashes(response)
    supplement = db.session.scalars(select(Report).where(Report.id != report.id)).one()
    assert [e.id for e in ops.report_entries(supplement)] == [late.id]
    assert ops.supplemented_report(supplement).id == report.id
    page = response.get_data(as_text=True)
    text = " ".join(html_paragraphs(page))
    assert "Bổ sung kết quả triển khai Tháng cao điểm" in text
    assert "tiếp theo Báo cáo số 01/BC-SXD ngày 03/11/2023" in text
    assert "Bổ sung cho báo cáo số <strong>01/BC-SXD</strong>" in page
    event = db.session.scalars(select(Event).where(Event.report_id == supplement.id)).one()
    assert event.comment == "Báo cáo bổ sung cho báo cáo số 01/BC-SXD. Thêm 1 hồ sơ mới."
    draft_name = _name(client.get(f"/bao-cao/{supplement.id}/du-thao.docx"))
    assert draft_name == "du-thao-bao-cao-bo-sung-2023.docx"


def test_the_operation_refuses_a_second_report_unless_asked(dept, app):
    signed_report(dept, app, issue=True)
    with pytest.raises(ops.AlreadySigned) as refused:
        ops.compile_report(dept.campaign, actor=dept.office)
    assert "01/BC-SXD ngày 03/11/2023" in refused.value.message
    with pytest.raises(Invalid):  # a supplement needs entries approved since
        ops.compile_report(dept.campaign, actor=dept.office, supplement=True)
    assert db.session.scalar(select(func.count(Report.id))) == 1


# --- Deleting an empty draft ------------------------------------------------------------------


def test_an_empty_draft_can_be_deleted_and_frees_the_slot(world, login):
    report = ops.compile_report(world.campaign, actor=world.office)  # nothing approved yet
    db.session.commit()
    report_id = report.id
    page = login(world.office).get(f"/bao-cao/{report_id}").get_data(as_text=True)
    assert f'action="/bao-cao/{report_id}/thao-tac/delete"' in page and "Xóa dự thảo" in page
    # Not the director's to delete.
    response = login(world.director).post(
        f"/bao-cao/{report_id}/thao-tac/delete", data={"version": report.version}
    )
    assert response.status_code == 403
    client = login(world.office)
    response = client.post(
        f"/bao-cao/{report_id}/thao-tac/delete",
        data={"version": report.version},
        follow_redirects=True,
    )
    assert "Đã xóa dự thảo báo cáo năm 2023 (không có hồ sơ nào); lịch sử xử lý vẫn được lưu." in (
        flashes(response)
    )
    report = db.session.get(Report, report_id)
    assert report.state == ReportState.DELETED  # soft: the row stays
    events = db.session.scalars(
        select(Event).where(Event.report_id == report_id).order_by(Event.seq)
    ).all()
    assert [e.action for e in events] == ["compile", "delete"]
    page = client.get(f"/bao-cao/{report_id}").get_data(as_text=True)
    assert "Đã xóa" in page and "Xóa dự thảo" in page and "Lịch sử xử lý" in page
    # The one-open-report slot is free again.
    again = ops.compile_report(world.campaign, actor=world.office)
    db.session.commit()
    assert again.id != report_id and ops.open_report(world.campaign).id == again.id


def test_a_draft_with_entries_cannot_be_deleted(dept, login):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    client = login(dept.office)
    page = client.get(f"/bao-cao/{report.id}").get_data(as_text=True)
    assert "thao-tac/delete" not in page
    response = client.post(
        f"/bao-cao/{report.id}/thao-tac/delete",
        data={"version": report.version},
        follow_redirects=True,
    )
    assert any("Dự thảo còn 3 hồ sơ nên không thể xóa" in m for m in flashes(response))
    assert db.session.get(Report, report.id).state == ReportState.DRAFT
    with pytest.raises(NotAllowed):
        ops.delete_report(report, actor=dept.director, expected_version=report.version)


# --- The page preview -------------------------------------------------------------------------


def _png(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 28), (n, n, n)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def fake_libreoffice(monkeypatch):
    """LibreOffice and pdftoppm replaced by fakes: two pages; ``gate`` holds the rendering."""

    class Fake:
        gate = threading.Event()
        calls = 0
        fail = False

    Fake.gate.set()

    def to_pdf(docx, **kwargs):
        Fake.calls += 1
        assert Fake.gate.wait(30)
        if Fake.fail:
            raise pdfmod.PdfConversionError("Không chuyển được sang PDF: lỗi thử.")
        return b"%PDF-fake"

    monkeypatch.setattr(pdfmod, "libreoffice_available", lambda: True)
    monkeypatch.setattr(pdfmod, "docx_to_pdf", to_pdf)
    monkeypatch.setattr(pdfmod, "pdf_to_png_pages", lambda pdf, **kw: [_png(1), _png(2)])
    yield Fake
    Fake.gate.set()
    previews.wait_for_renders()


def test_preview_renders_in_the_background_and_the_page_polls(dept, login, fake_libreoffice):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    sha = report.draft_docx_sha256
    client = login(dept.office)
    fake_libreoffice.gate.clear()  # LibreOffice "takes its time"
    page = client.get(f"/bao-cao/{report.id}/xem-truoc")  # answers at once, without the pages
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đang dựng các trang của dự thảo" in text
    assert '<progress class="w-100" id="preview-progress"' in text
    assert f'data-status-url="/bao-cao/{report.id}/xem-truoc/trang-thai?v={sha[:12]}"' in text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in text
    status = client.get(f"/bao-cao/{report.id}/xem-truoc/trang-thai?v={sha[:12]}").get_json()
    assert status["status"] == "rendering" and status["expected"] > 0 and not status["changed"]
    assert client.get(f"/bao-cao/{report.id}/xem-truoc/1.png").status_code == 404
    fake_libreoffice.gate.set()
    previews.wait_for_renders()
    status = client.get(f"/bao-cao/{report.id}/xem-truoc/trang-thai").get_json()
    assert status["status"] == "done" and status["pages"] == 2
    assert fake_libreoffice.calls == 1  # the second poll started no second rendering
    text = client.get(f"/bao-cao/{report.id}/xem-truoc").get_data(as_text=True)
    assert "Xem trước (2 trang)" in text and text.count('class="report-page img-fluid"') == 2
    image = client.get(f"/bao-cao/{report.id}/xem-truoc/2.png?v={sha[:12]}")
    assert image.data == _png(2) and "max-age" in image.headers["Cache-Control"]
    # Stored in the database, keyed by the draft's SHA-256.
    assert db.session.get(DraftPreview, sha).status == "done"
    assert db.session.scalar(select(func.count()).select_from(DraftPreviewPage)) == 2


def test_another_server_reuses_the_stored_pages(dept, app, app_config, login, fake_libreoffice):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    login(dept.office).get(f"/bao-cao/{report.id}/xem-truoc")
    previews.wait_for_renders()
    other = create_app(app_config)  # a second app server on the same database
    with other.app_context():
        client = other.test_client()
        client.post("/dang-nhap", data={"username": dept.office.username, "password": PASSWORD})
        text = client.get(f"/bao-cao/{report.id}/xem-truoc").get_data(as_text=True)
        assert "Xem trước (2 trang)" in text
        assert client.get(f"/bao-cao/{report.id}/xem-truoc/1.png").data == _png(1)
        db.session.remove()
    assert fake_libreoffice.calls == 1


def test_a_changed_draft_gets_a_new_preview_and_the_old_one_goes(dept, login, fake_libreoffice):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    old = report.draft_docx_sha256
    client = login(dept.office)
    client.get(f"/bao-cao/{report.id}/xem-truoc")
    previews.wait_for_renders()
    client.post(
        f"/bao-cao/{report.id}/noi-dung",
        data={"version": report.version, "section_leadership": "Nội dung mới của mục I."},
    )
    db.session.refresh(report)
    assert report.draft_docx_sha256 != old
    status = client.get(f"/bao-cao/{report.id}/xem-truoc/trang-thai?v={old[:12]}").get_json()
    assert status["changed"]  # the open page reloads
    previews.wait_for_renders()
    assert fake_libreoffice.calls == 2
    assert db.session.get(DraftPreview, old) is None  # pruned: no report shows that draft
    assert db.session.get(DraftPreview, report.draft_docx_sha256).status == "done"


def test_a_failed_preview_says_so_and_can_be_retried(dept, login, fake_libreoffice):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    client = login(dept.office)
    fake_libreoffice.fail = True
    client.get(f"/bao-cao/{report.id}/xem-truoc")
    previews.wait_for_renders()
    text = client.get(f"/bao-cao/{report.id}/xem-truoc").get_data(as_text=True)
    assert "Không tạo được ảnh xem trước các trang." in text and "lỗi thử" in text
    assert fake_libreoffice.calls == 1  # not retried by merely looking
    fake_libreoffice.fail = False
    response = client.post(f"/bao-cao/{report.id}/xem-truoc/thu-lai", follow_redirects=True)
    previews.wait_for_renders()
    assert response.status_code == 200 and fake_libreoffice.calls == 2
    assert "Xem trước (2 trang)" in client.get(f"/bao-cao/{report.id}/xem-truoc").get_data(
        as_text=True
    )


def test_a_claim_whose_server_died_is_taken_over(dept, app):
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    sha, stale = report.draft_docx_sha256, timedelta(minutes=4)
    assert previews.claim(sha, stale_after=stale)
    assert not previews.claim(sha, stale_after=stale)  # another server renders it
    later = utcnow() + timedelta(minutes=5)
    assert previews.claim(sha, stale_after=stale, now=later)  # that server died
    db.session.commit()


def test_preview_with_libreoffice(dept, login):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    report = ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    client = login(dept.office)
    client.get(f"/bao-cao/{report.id}/xem-truoc")
    previews.wait_for_renders()
    status = client.get(f"/bao-cao/{report.id}/xem-truoc/trang-thai").get_json()
    assert status["status"] == "done" and status["pages"] >= 2, status
    assert client.get(f"/bao-cao/{report.id}/xem-truoc/1.png").data[:8] == b"\x89PNG\r\n\x1a\n"


# --- Staff open the issued PDF sent to their unit ----------------------------------------------


def test_recipients_that_reach_a_unit():
    lines = ["Ban Dân vận Tỉnh ủy", "Các phòng chuyên môn, đơn vị thuộc Sở"]
    assert sent_to_unit(lines, "Thanh tra Sở")
    assert not sent_to_unit(["Ban Dân vận Tỉnh ủy", "Website của Sở"], "Thanh tra Sở")
    assert sent_to_unit(["Ban Dân vận Tỉnh ủy", "Thanh tra Sở"], "Thanh tra Sở")


@pytest.fixture
def issued_with_pdf(dept, app):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    return signed_report(dept, app, issue=True, make_pdf=True)[0]


def test_staff_open_the_issued_pdf_from_the_campaign_page(dept, login, issued_with_pdf):
    doc = db.session.scalars(select(ArchivedDocument)).one()
    client = login(dept.staff_a)
    page = client.get(f"/ke-hoach/{dept.campaign.id}").get_data(as_text=True)
    link = f'href="/luu-tru/{doc.id}/pdf"'
    assert link in page and f"/bao-cao/{issued_with_pdf.id}" not in page
    response = client.get(f"/luu-tru/{doc.id}/pdf")
    assert response.status_code == 200 and response.data[:5] == b"%PDF-"
    assert _name(response) == "2023-01-BC-SXD.pdf"
    assert client.get(f"/luu-tru/{doc.id}/docx").status_code == 403
    assert client.get("/luu-tru").status_code == 403


def test_staff_of_a_unit_not_in_the_recipients_get_no_link(dept, app, login):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    campaign = create_campaign(dept.agency, year=2023)
    campaign.recipients = "Ban Dân vận Tỉnh ủy"  # not sent to the units
    db.session.flush()
    approve_fields = dict(
        dept.entry_fields(), content_item_id=campaign.content_items[0].id, observance_id=None
    )
    from danvan.operations import entries as entry_ops
    from danvan.workflow import EntryAction

    entry = entry_ops.create_entry(campaign, actor=dept.staff_a, fields=approve_fields)
    for actor, action in (
        (dept.staff_a, EntryAction.SUBMIT),
        (dept.head_a, EntryAction.APPROVE),
        (dept.office, EntryAction.APPROVE),
    ):
        entry_ops.act(entry, action, actor=actor)
    report = ops.compile_report(campaign, actor=dept.office)
    ops.submit_report(
        report, actor=dept.chief, signer=dept.director, expected_version=report.version
    )
    db.session.commit()
    signed_report(dept, app, issue=True, make_pdf=True, report=db.session.get(Report, report.id))
    doc = db.session.scalars(select(ArchivedDocument)).one()
    client = login(dept.staff_a)
    page = client.get(f"/ke-hoach/{campaign.id}").get_data(as_text=True)
    assert "/luu-tru/" not in page and "Báo cáo số 01/BC-SXD" in page
    assert client.get(f"/luu-tru/{doc.id}/pdf").status_code == 403


# --- The seal's place, checked on the 150 dpi rendering ---------------------------------------


def _words(pdf: bytes, page: int) -> list[tuple[str, float, float, float, float]]:
    out = subprocess.run(
        ["pdftotext", "-f", str(page + 1), "-l", str(page + 1), "-bbox", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out
    )
    return [(html.unescape(w), float(a), float(b), float(c), float(d)) for a, b, c, d, w in found]


def _line_box(words, first: str, last: str):
    start = next(i for i, w in enumerate(words) if w[0].startswith(first))
    end = next(i for i in range(start, len(words)) if words[i][0].endswith(last))
    chunk = words[start : end + 1]
    return (
        min(w[1] for w in chunk),
        min(w[2] for w in chunk),
        max(w[3] for w in chunk),
        max(w[4] for w in chunk),
    )


def _red_box(png: Path, scale: float):
    """Bounding box (points, y from the top) of the seal's red ink on the rendered page."""
    image = Image.open(png).convert("RGB")
    pixels = image.load()
    xs, ys = [], []
    for y in range(0, image.height, 2):
        for x in range(0, image.width, 2):
            r, g, b = pixels[x, y]
            if r > 170 and g < 110 and b < 110:
                xs.append(x)
                ys.append(y)
    return min(xs) / scale, min(ys) / scale, max(xs) / scale, max(ys) / scale


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("signer_attr", ["director", "deputy"])
def test_the_seal_sits_on_the_left_third_of_the_signature(dept, app, tmp_path, signer_attr):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    signer = getattr(dept, signer_attr)
    signed_report(dept, app, issue=True, make_pdf=True, signer=signer)
    pdf = db.session.get(Blob, db.session.scalars(select(ArchivedDocument)).one().pdf_sha256).data
    page, (sx0, sy0, sx1, sy1) = pdfmod.signature_widget(pdf, 0)  # the signer's image
    height = pdfmod.find_text_box(pdf, signer.full_name).page_height
    signature = (sx0, height - sy1, sx1, height - sy0)  # y from the top, like pdftoppm
    (tmp_path / "issued.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", str(page + 1), "-l", str(page + 1), "-png",
         str(tmp_path / "issued.pdf"), str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    png = next(tmp_path.glob("page-*.png"))
    seal = _red_box(png, 150 / 72)
    words = _words(pdf, page)
    first_name, last_name = signer.full_name.split()[0], signer.full_name.split()[-1]
    name = _line_box(words, first_name, last_name)
    number = _line_box(words, "Số:", "01/BC-SXD")
    time_line = _line_box(words, "Thời", "+07:00")
    title = _line_box(words, "PHÓ" if signer_attr == "deputy" else "GIÁM", "ĐỐC")

    # Over the left third of the signature image: its right edge near x0 + w/3.
    third = sx0 + (sx1 - sx0) / 3
    assert abs(seal[2] - third) < 4, (seal, signature)
    assert seal[0] < sx0 and _overlap(seal, signature)
    # Never over the signer's name, the title, or its own text lines.
    for label, box in (("name", name), ("title", title), ("số", number), ("time", time_line)):
        assert not _overlap(seal, box), (label, seal, box)
    assert seal[3] < name[1]  # entirely above the name
    # The stamp's lines are centred on the signature block's axis (the name's centre).
    axis = (name[0] + name[2]) / 2
    for box in (number, time_line):
        assert abs((box[0] + box[2]) / 2 - axis) < 3, (box, axis)
        assert box[1] > name[3]  # below the name
