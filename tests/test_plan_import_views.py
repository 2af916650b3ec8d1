"""Nhập kế hoạch từ văn bản in the browser's pages: upload or paste → review → draft campaign.

The review shows only what the parser found ("Không tìm thấy" otherwise, with its messages);
the confirm step parses the posted text again; disguised, oversized and missing input is
refused in Vietnamese with the pasted text kept; only administrators get in; CSRF is checked.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from danvan import create_app
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import AuditLog, Campaign
from danvan.plans import forms as plan_forms
from danvan.text import shorten
from tests.conftest import csrf_token_from
from tests.e2e.conftest import png_bytes
from tests.factories import PASSWORD, require
from tests.plan_samples import SEED_ITEMS, SEED_OBSERVANCE_NAMES, SEED_TITLE, markdown_to_docx

URL, CREATE_URL = "/quan-tri/nhap-ke-hoach", "/quan-tri/nhap-ke-hoach/tao"
SEED_PLAN = Path("/work/shared/seed/ke-hoach-thang-cao-diem-dan-van-2023.md")
if not SEED_PLAN.exists():  # the same plan, kept with the tests
    SEED_PLAN = Path(__file__).parent / "data" / "plans" / SEED_PLAN.name
MISSING_PLAN = Path(__file__).parent / "data" / "plans" / "ke-hoach-thieu-muc.md"


def seed_text() -> str:
    return SEED_PLAN.read_text(encoding="utf-8")


def upload(client, filename: str, data: bytes, text: str = ""):
    return client.post(
        URL,
        data={"file": (io.BytesIO(data), filename), "text": text},
        content_type="multipart/form-data",
    )


def paste(client, text: str):
    return client.post(URL, data={"text": text}, content_type="multipart/form-data")


def field(page: str, element_id: str) -> str:
    """The text of the review's <dd id=…>, tags dropped, spaces collapsed."""
    match = re.search(rf'<dd [^>]*id="{element_id}"[^>]*>(.*?)</dd>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def alert_items(page: str, element_id: str) -> list[str]:
    match = re.search(rf'<div [^>]*role="alert" id="{element_id}">(.*?)</div>', page, re.S)
    assert match, f"no alert #{element_id}"
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [html.unescape(item) for item in items]


def carried_text(page: str) -> str:
    """The text the review form posts back (its read-only textarea)."""
    match = re.search(r'<textarea[^>]*name="text"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert match, "no text carried to the confirm step"
    return html.unescape(match.group(1))


def create_button(page: str) -> str:
    match = re.search(r'<button[^>]*id="create-draft"[^>]*>', page)
    assert match, "no create button"
    return match.group(0)


def latest_campaign() -> Campaign:
    return db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()


def campaign_count() -> int:
    return db.session.scalar(select(func.count(Campaign.id)))


@pytest.fixture
def admin(world, login):
    return login(world.admin)


@pytest.fixture(scope="module")
def seed_docx() -> bytes:
    return markdown_to_docx(seed_text())


# --- Links to the page ----------------------------------------------------------------------


def test_linked_from_the_campaign_list_and_the_admin_page(admin):
    for page in ("/quan-tri/ke-hoach", "/quan-tri"):
        assert f'href="{URL}"' in admin.get(page).get_data(as_text=True), page
    page = admin.get(URL).get_data(as_text=True)
    assert '<h1 class="h4">Nhập kế hoạch từ văn bản</h1>' in page
    assert 'enctype="multipart/form-data"' in page and 'accept=".docx,.pdf,.md' in page
    assert '<label class="form-label fw-semibold" for="file">Tệp kế hoạch</label>' in page
    assert 'for="text">Hoặc dán nội dung kế hoạch</label>' in page


# --- The seed plan: upload, review, create ---------------------------------------------------


def assert_seed_review(page: str) -> None:
    assert '<h1 class="h4">Xem lại trước khi tạo</h1>' in page
    assert field(page, "plan-title") == SEED_TITLE
    assert field(page, "plan-number") == "Không tìm thấy"  # "Số: /KH-SXD": not numbered yet
    assert field(page, "plan-date") == "Không tìm thấy"  # "ngày tháng năm 2023"
    assert field(page, "plan-period") == "Từ 01/10/2023 đến 31/10/2023"
    assert field(page, "plan-deadline") == "05/11/2023 (tới Ban Dân vận Tỉnh ủy)"
    items = re.search(r'id="plan-content-items">\s*<ol[^>]*>(.*?)</ol>', page, re.S).group(1)
    shown = [html.unescape(i) for i in re.findall(r"<li[^>]*>(.*?)</li>", items, re.S)]
    assert [i.split("<div")[0] for i in shown] == SEED_ITEMS
    # The second item is longer than a content item may be: the review says it will be cut.
    assert [("quá 500 ký tự" in i) for i in shown] == [False, True, False, False]
    observances = field(page, "plan-observances")
    assert "15/10/2023 · Ngày truyền thống công tác dân vận của Đảng (93 năm)" in observances
    for name in SEED_OBSERVANCE_NAMES:
        assert name in observances
    assert observances.count("năm)") == 1  # no anniversary made up for the other days
    assert "01/10/2023 · Ngày Quốc tế người cao tuổi" in observances
    assert field(page, "plan-recipients").startswith("Ban Dân vận Tỉnh ủy Ban Tuyên giáo")
    problems = alert_items(page, "plan-problems")
    assert problems[0].startswith("Số kế hoạch để trống")
    assert problems[1].startswith("Ngày ban hành kế hoạch để trống")
    assert 'id="plan-missing"' not in page and "disabled" not in create_button(page)


def assert_seed_campaign(campaign: Campaign, world) -> None:
    assert campaign.status == "draft" and campaign.title == SEED_TITLE
    assert campaign.year == 2023 and campaign.plan_number is None and campaign.plan_date is None
    assert (campaign.period_start.isoformat(), campaign.period_end.isoformat()) == (
        "2023-10-01",
        "2023-10-31",
    )
    assert campaign.report_deadline.isoformat() == "2023-11-05"
    assert [i.title for i in campaign.content_items] == [shorten(i, 500) for i in SEED_ITEMS]
    assert [o.name for o in campaign.observances] == SEED_OBSERVANCE_NAMES
    danvan_day = campaign.observances[5]
    assert (danvan_day.day.isoformat(), danvan_day.founding_year) == ("2023-10-15", 1930)
    assert campaign.agency_id == world.agency.id
    row = db.session.scalar(
        select(AuditLog).where(AuditLog.object_type == "campaign", AuditLog.action == "import")
    )
    assert row.object_id == campaign.id and row.actor_id == world.admin.id


@pytest.mark.parametrize("kind", ["md", "docx"])
def test_upload_review_and_create_the_seed_plan(world, admin, seed_docx, kind):
    data = seed_docx if kind == "docx" else SEED_PLAN.read_bytes()
    before = campaign_count()
    response = upload(admin, f"ke-hoach-2023.{kind}", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_seed_review(page)
    assert f"Đọc từ tệp “ke-hoach-2023.{kind}”." in page
    assert campaign_count() == before  # nothing is saved before "Tạo kế hoạch nháp"

    response = admin.post(CREATE_URL, data={"text": carried_text(page), "source": "x"})
    assert response.status_code == 303
    campaign = latest_campaign()
    assert response.headers["Location"].endswith(f"/quan-tri/ke-hoach/{campaign.id}")
    assert campaign_count() == before + 1
    assert_seed_campaign(campaign, world)
    edit = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã tạo kế hoạch nháp “Tổ chức các hoạt động" in html.unescape(edit)
    assert "với 4 nội dung và 8 ngày kỷ niệm; hãy rà soát rồi mở kế hoạch" in html.unescape(edit)


def test_upload_a_pdf_with_a_text_layer(admin, seed_docx):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    response = upload(admin, "ke-hoach.pdf", pdfmod.docx_to_pdf(seed_docx, pdfa=False))
    assert response.status_code == 200
    assert_seed_review(response.get_data(as_text=True))


def test_pasted_text_review_and_create(world, admin):
    response = paste(admin, seed_text())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_seed_review(page)
    assert "Đọc từ nội dung đã dán." in page
    # "Quay lại" posts the text back to page 1, which shows it in the textarea again.
    assert 'formaction="/quan-tri/nhap-ke-hoach" name="quay_lai" value="1">Quay lại' in page
    back = admin.post(URL, data={"text": carried_text(page), "quay_lai": "1"})
    assert back.status_code == 200
    back_page = back.get_data(as_text=True)
    assert "Nội dung đã dán vẫn còn trong ô bên dưới" in back_page
    assert "Tháng cao điểm" in carried_text(back_page) and "is-invalid" not in back_page

    response = admin.post(CREATE_URL, data={"text": carried_text(page)})
    assert response.status_code == 303
    assert_seed_campaign(latest_campaign(), world)


def test_the_confirm_step_parses_the_text_again_and_ignores_posted_values(admin):
    text = seed_text().replace("trước ngày 05/11/2023", "trước ngày 06/11/2023")
    response = admin.post(
        CREATE_URL,
        data={"text": text, "title": "Tiêu đề khác", "report_deadline": "01/01/2030"},
    )
    assert response.status_code == 303
    campaign = latest_campaign()
    assert campaign.title == SEED_TITLE and campaign.report_deadline.isoformat() == "2023-11-06"


# --- A plan with sections missing ------------------------------------------------------------


def test_missing_sections_show_each_problem_and_no_create(admin):
    before = campaign_count()
    response = upload(admin, MISSING_PLAN.name, MISSING_PLAN.read_bytes())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field(page, "plan-number") == "140/KH-SXD"
    assert field(page, "plan-date") == "02/10/2023"
    for element_id in (
        "plan-period",
        "plan-deadline",
        "plan-content-items",
        "plan-observances",
        "plan-recipients",
    ):
        assert field(page, element_id) == "Không tìm thấy", element_id
    problems = alert_items(page, "plan-problems")
    assert len(problems) == 5
    for expected in (
        "Không tìm thấy phần “Nơi nhận”",
        "Không tìm thấy thời gian thực hiện",
        "Không tìm thấy hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy",
        "Không tìm thấy mục “II. Nội dung”",
        "Không tìm thấy ngày kỷ niệm nào",
    ):
        assert any(p.startswith(expected) for p in problems), expected
    assert alert_items(page, "plan-missing") == [
        "Thiếu thời gian thực hiện (từ ngày … đến ngày …).",
        "Thiếu hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy.",
    ]
    button = create_button(page)
    assert " disabled" in button and 'aria-describedby="plan-missing"' in button
    # Posted anyway (the button bypassed): refused with the same reasons, nothing created.
    response = admin.post(CREATE_URL, data={"text": carried_text(page), "source": "x.md"})
    assert response.status_code == 422
    assert "Chưa tạo được kế hoạch nháp" in response.get_data(as_text=True)
    assert campaign_count() == before


# --- Refused input: the message says why, the pasted text stays --------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        (
            "ke-hoach.docx",
            png_bytes(),
            "Tên tệp “ke-hoach.docx” không khớp với nội dung thật: tệp là ảnh PNG, không phải "
            "Word (.docx).",
        ),
        ("ke-hoach.pdf", b"PK-docx", None),  # replaced below by a real .docx
        (
            "ke-hoach.md",
            b"%PDF-1.4\n%...",
            "Tên tệp “ke-hoach.md” không khớp với nội dung thật: tệp là PDF, không phải văn bản "
            "thuần (.md, .txt).",
        ),
        ("ke-hoach.docx", b"not a zip", "Không đọc được tệp .docx: tệp hỏng hoặc không phải Word."),
        ("ke-hoach.pdf", b"%PDF-1.4\nbroken", "Không đọc được tệp PDF"),
        ("ke-hoach.doc", b"\xd0\xcf\x11\xe0", "Chưa đọc được tệp Word cũ “ke-hoach.doc”"),
        ("anh.png", png_bytes(), "Tệp “anh.png” không phải tệp .docx, .pdf, .md hoặc .txt"),
        ("ke-hoach.txt", "Kế hoạch".encode("utf-16"), "không phải mã UTF-8"),
        ("ke-hoach.txt", b"", "Tệp rỗng"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_vietnamese(
    admin, seed_docx, filename, data, message
):
    if message is None:
        data = seed_docx
        message = (
            "Tên tệp “ke-hoach.pdf” không khớp với nội dung thật: tệp là Word (.docx), không "
            "phải PDF."
        )
    response = upload(admin, filename, data)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    assert 'role="alert"' in page and "Chưa đọc được kế hoạch" in page
    assert 'aria-invalid="true"' in page


def test_pasted_text_is_kept_when_the_form_is_refused(admin):
    text = "KẾ HOẠCH\nTháng cao điểm dân vận <b>2024</b>"
    response = upload(admin, "anh.docx", png_bytes(), text=text)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hãy chọn tệp hoặc dán nội dung, không dùng cả hai" in page
    assert carried_text(page) == text


def test_nothing_given_and_too_long_text(admin, monkeypatch):
    response = paste(admin, "  \n ")
    assert response.status_code == 422
    assert "Hãy chọn tệp kế hoạch hoặc dán nội dung kế hoạch." in response.get_data(as_text=True)
    too_long = "Kế hoạch. " * 12_000
    response = paste(admin, too_long)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Văn bản dài quá 100.000 ký tự" in page and carried_text(page) == too_long


def test_a_file_over_10_mb_is_refused(app, admin, monkeypatch):
    monkeypatch.setattr(plan_forms, "MAX_PLAN_BYTES", 1000)
    response = upload(admin, "ke-hoach.md", SEED_PLAN.read_bytes())
    assert response.status_code == 422
    assert "Tệp “ke-hoach.md” lớn hơn 10 MB" in response.get_data(as_text=True)
    # Over the app's own limit the body is not read at all: page 1 says so, not an entry page.
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = upload(admin, "ke-hoach.md", SEED_PLAN.read_bytes())
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "tệp kế hoạch tối đa 10 MB" in page and "Nhập kế hoạch từ văn bản" in page
    assert "Quay lại hồ sơ" not in page


def test_the_confirm_step_without_text_goes_back_to_page_1(admin):
    response = admin.post(CREATE_URL, data={"text": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Không còn nội dung kế hoạch; hãy tải tệp hoặc dán nội dung lại." in page
    assert 'id="plan-upload-form"' in page


# --- Access and CSRF ---------------------------------------------------------------------------


def test_only_administrators(world, client, login):
    assert client.get(URL).status_code == 302  # signed out: the login page
    for user in (world.staff_a, world.office, world.director, world.chief):
        login(user)
        for method, path in (("get", URL), ("post", URL), ("post", CREATE_URL)):
            response = getattr(client, method)(path, data={"text": seed_text()})
            assert response.status_code == 403, (user.username, method, path)
            assert "Chỉ Quản trị hệ thống mới được nhập kế hoạch từ văn bản." in (
                response.get_data(as_text=True)
            )
    assert db.session.scalar(select(func.count(Campaign.id))) == 1


def test_csrf_is_required(world, app_config):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    token = csrf_token_from(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post(
        "/dang-nhap", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    page = client.get(URL).get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert client.post(URL, data={"text": seed_text()}).status_code == 400
    response = client.post(CREATE_URL, data={"text": seed_text()})
    assert response.status_code == 400
    assert "thiếu mã bảo mật CSRF" in response.get_data(as_text=True)
    response = client.post(
        CREATE_URL, data={"text": seed_text(), "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Campaign.id))) == 2
