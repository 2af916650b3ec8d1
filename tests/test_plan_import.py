"""Plan import: the seed plan and its variations, .docx and PDF round trips, the draft, the CLI.

The seed plan (tests/data/plans/ke-hoach-thang-cao-diem-dan-van-2023.md, a copy of
/work/shared/seed/…) is the department's real 2023 plan; danvan/seed.py's 2023 campaign was typed
from it, so the expected values come from seed.py wherever it has them.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from danvan import seed
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Agency, AuditLog, Campaign
from danvan.plans.importer import PlanImportError, create_draft_campaign, report_subject_for
from danvan.plans.parser import (
    ParsedPlan,
    PlanTextError,
    extract_text,
    normalize_spelling,
    parse_plan,
)
from danvan.text import fold
from tests.factories import require
from tests.plan_samples import (
    SEED_ITEMS,
    SEED_OBSERVANCE_NAMES,
    SEED_STATED_YEARS,
    SEED_TITLE,
    TITLE_2023,
    markdown_to_docx,
)

DATA = Path(__file__).parent / "data" / "plans"
SEED_PLAN = DATA / "ke-hoach-thang-cao-diem-dan-van-2023.md"
JSON_KEYS = {
    "title",
    "plan_number",
    "plan_date",
    "period_start",
    "period_end",
    "report_deadline",
    "content_items",
    "observances",
    "recipients",
    "problems",
}


def parse_file(name: str | Path) -> ParsedPlan:
    path = DATA / name
    return parse_plan(extract_text(path.name, path.read_bytes()))


@pytest.fixture(scope="module")
def seed_docx() -> bytes:
    return markdown_to_docx(SEED_PLAN.read_text(encoding="utf-8"))


# --- The seed plan, field by field -----------------------------------------------------------


def seed_recipients_in_plan() -> list[str]:
    """seed.py's 2023 Nơi nhận without the line the plan does not have."""
    return [r for r in seed._recipients(2023).split("\n") if not r.startswith("Giám đốc")]


def test_seed_plan_imports_exactly():
    plan = parse_file(SEED_PLAN.name)
    assert plan.title == SEED_TITLE
    assert (plan.period_start, plan.period_end) == (date(2023, 10, 1), date(2023, 10, 31))
    assert plan.report_deadline == date(2023, 11, 5)
    assert plan.report_recipient == seed.ban_dan_van(2023)
    assert plan.content_items == SEED_ITEMS
    assert plan.recipients == seed_recipients_in_plan()
    # "Số: /KH-SXD" and "ngày tháng năm 2023" are blank in the plan: nothing is made up.
    assert plan.plan_number is None and plan.plan_date is None
    assert plan.problems[:2] == [
        "Số kế hoạch để trống (“Số: /KH-SXD”): kế hoạch chưa được cấp số; nhập số khi có.",
        "Ngày ban hành kế hoạch để trống (“ngày … tháng … năm 2023”); nhập ngày khi ký.",
    ]
    assert len(plan.problems) == 3 and plan.problems[2].startswith(
        "Kế hoạch không ghi số năm kỷ niệm của: Ngày Quốc tế người cao tuổi;"
    )


def test_seed_plan_observances_match_seed_py():
    plan = parse_file(SEED_PLAN.name)
    assert [o.name for o in plan.observances] == SEED_OBSERVANCE_NAMES
    assert len(plan.observances) == len(seed.OBSERVANCES)
    for parsed, (key, day, name, founded) in zip(plan.observances, seed.OBSERVANCES, strict=True):
        assert parsed.date == date(2023, 10, day)
        assert fold(parsed.name) == fold(name)
        assert parsed.years == SEED_STATED_YEARS.get(key)
        if parsed.years is not None:
            assert parsed.founding_year == founded == parsed.date.year - parsed.years
        else:
            assert parsed.founding_year is None  # seed.py knows it; this plan does not say


def test_seed_plan_content_items_match_seed_py():
    """seed.py's items are summaries of the plan's four paragraphs: same count, same documents."""
    plan = parse_file(SEED_PLAN.name)
    assert len(plan.content_items) == len(seed.CONTENT_ITEMS)
    for parsed, summary in zip(plan.content_items, seed.CONTENT_ITEMS, strict=True):
        for number in re.findall(r"\d+[-/][A-ZĐ]+/[A-Za-zĐ]+", summary):
            assert number in parsed


def test_seed_plan_json():
    plan = parse_file(SEED_PLAN.name)
    data = plan.to_json()
    assert set(data) == JSON_KEYS
    assert data["period_start"] == "2023-10-01" and data["report_deadline"] == "2023-11-05"
    assert data["plan_number"] is None and data["plan_date"] is None
    assert data["observances"][5] == {
        "name": "Ngày truyền thống công tác dân vận của Đảng",
        "date": "2023-10-15",
        "years": 93,
    }
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_old_tone_marks_take_the_applications_spelling():
    raw = SEED_PLAN.read_text(encoding="utf-8")
    assert "Ban Dân vận Tỉnh uỷ" in raw and "(khoá XI)" in raw
    assert normalize_spelling("Ban Dân vận Tỉnh uỷ") == seed.ban_dan_van(2023)
    pairs = {
        "khoá XI": "khóa XI",
        "hoà bình": "hòa bình",
        "Thuỷ lợi": "Thủy lợi",
        "UỶ BAN": "ỦY BAN",
        "xoè": "xòe",
        "quý, quỳ, quỷ": "quý, quỳ, quỷ",  # "qu" + y: the mark stays on the y
        "thuyền, hoàn, khoản": "thuyền, hoàn, khoản",  # not the last letters of the word
    }
    for before, after in pairs.items():
        assert normalize_spelling(unicodedata.normalize("NFD", before)) == after


# --- Variations --------------------------------------------------------------------------------


def test_dates_written_in_words():
    plan = parse_file("ke-hoach-ngay-viet-chu.md")
    assert plan.plan_number == "125/KH-SXD" and plan.plan_date == date(2023, 9, 27)
    # The title as seed.py writes the 2023 campaign's.
    assert plan.title == TITLE_2023
    assert (plan.period_start, plan.period_end) == (date(2023, 10, 1), date(2023, 10, 31))
    assert plan.report_deadline == date(2023, 11, 5)
    assert plan.report_recipient == "Ban Dân vận Tỉnh ủy"
    assert len(plan.content_items) == 3
    assert plan.content_items[1].startswith("Dân vận chính quyền: cải cách hành chính")
    assert plan.recipients == ["Ban Dân vận Tỉnh ủy", "Lãnh đạo Sở"]
    seed_founded = {name: founded for _, _, name, founded in seed.OBSERVANCES}
    got = {o.name: (o.date, o.years, o.founding_year) for o in plan.observances}
    assert got == {
        "Ngày thành lập Hội Nông dân Việt Nam": (date(2023, 10, 14), 93, 1930),
        "Ngày truyền thống công tác dân vận của Đảng": (date(2023, 10, 15), 93, 1930),
        "Ngày vì người nghèo": (date(2023, 10, 17), None, None),
        "Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam": (date(2023, 10, 20), 93, 1930),
    }
    for name, (_, _, founded) in got.items():
        assert founded == seed_founded[name]


def test_dates_without_leading_zero_and_deadline_first():
    plan = parse_file("ke-hoach-ngay-mot-chu-so.txt")
    assert plan.plan_number == "98/KH-SXD" and plan.plan_date == date(2023, 9, 3)
    # The title goes on over two lines.
    assert plan.title.endswith("nhân kỷ niệm 93 năm Ngày truyền thống công tác dân vận của Đảng "
                               "(15/10/1930 – 15/10/2023)")  # fmt: skip
    assert (plan.period_start, plan.period_end) == (date(2023, 10, 1), date(2023, 10, 31))
    assert plan.report_deadline == date(2023, 11, 5)
    assert plan.report_recipient == "Ban Dân vận Tỉnh ủy"
    assert plan.content_items == [
        "Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng (15/10)",
        "Thực hiện dân vận chính quyền gắn với cải cách hành chính",
        "Vận động ủng hộ Quỹ “Vì người nghèo” nhân Ngày vì người nghèo (17/10)",
    ]
    assert [(o.name, o.years) for o in plan.observances] == [
        ("Ngày truyền thống công tác dân vận của Đảng", 93),  # from the title's "93 năm"
        ("Ngày vì người nghèo", None),
    ]


def _plan_with(period: str, deadline: str, year: int = 2023) -> str:
    return (
        f"Số: 125/KH-SXD\nHà Nam, ngày 27 tháng 9 năm {year}\nKẾ HOẠCH\n"
        f"Tổ chức Tháng cao điểm dân vận năm {year}\nI. MỤC ĐÍCH, YÊU CẦU\nTránh hình thức.\n"
        f"II. NỘI DUNG\n1. Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng (15/10).\n"
        f"{period}\n{deadline}\nNơi nhận:\n- Ban Dân vận Tỉnh ủy;\n- Lưu: VT.\n"
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "- Bắt đầu từ ngày 01/10/2023 đến hết ngày 31/10/2023.",
        "- Thời gian: từ ngày 1/10/2023 đến ngày 31/10/2023.",
        "- Thời gian thực hiện: từ ngày 01 tháng 10 năm 2023 đến ngày 31 tháng 10 năm 2023.",
        "Thời gian: từ 01/10 – 31/10/2023.",
        "Thời gian thực hiện: 01/10/2023 - 31/10/2023.",
        "Thời gian thực hiện: tháng 10/2023.",
        "Tổ chức trong tháng 10 năm 2023.",
    ],
)
def test_period_wordings(sentence):
    deadline = "- Báo cáo kết quả gửi về Ban Dân vận Tỉnh ủy trước ngày 05/11/2023."
    plan = parse_plan(_plan_with(sentence, deadline))
    assert (plan.period_start, plan.period_end) == (date(2023, 10, 1), date(2023, 10, 31))
    assert plan.content_items == [
        "Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng (15/10)"
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "- Tổng hợp đánh giá và Báo cáo kết quả gửi về Ban Dân vận tỉnh ủy trước ngày 05/11/2023.",
        "- Văn phòng Sở tổng hợp, báo cáo Ban Dân vận Tỉnh ủy chậm nhất ngày 5/11/2023.",
        "- Báo cáo kết quả về Ban Dân vận Tỉnh ủy trước 17 giờ ngày 05 tháng 11 năm 2023.",
        "- Trước ngày 05/11/2023, Văn phòng Sở tổng hợp báo cáo gửi Ban Dân vận Tỉnh ủy.",
        "- Hạn gửi báo cáo: 05/11/2023 (gửi Ban Dân vận Tỉnh ủy qua hộp thư điện tử).",
        "- Báo cáo kết quả gửi Ban Dân vận Tỉnh ủy không muộn hơn ngày 05/11.",
    ],
)
def test_deadline_wordings(sentence):
    plan = parse_plan(_plan_with("- Bắt đầu từ ngày 01/10/2023 đến hết ngày 31/10/2023.", sentence))
    assert plan.report_deadline == date(2023, 11, 5)
    assert plan.report_recipient == "Ban Dân vận Tỉnh ủy"
    assert len(plan.content_items) == 1, plan.content_items  # the deadline is not an item


def test_the_result_report_deadline_beside_an_interim_one():
    plan = parse_plan(
        _plan_with(
            "- Bắt đầu từ ngày 01/10/2023 đến hết ngày 31/10/2023.",
            "- Báo cáo nhanh gửi Ban Dân vận Tỉnh ủy trước ngày 16/10/2023; báo cáo kết quả gửi "
            "Ban Dân vận Tỉnh ủy trước ngày 05/11/2023.",
        )
    )
    assert plan.report_deadline == date(2023, 11, 5)
    assert not any("hạn" in p for p in plan.problems)


def test_a_deadline_to_another_body_is_taken_with_a_warning():
    plan = parse_plan(
        _plan_with(
            "- Bắt đầu từ ngày 01/10/2023 đến hết ngày 31/10/2023.",
            "- Báo cáo kết quả gửi Đảng ủy khối trước ngày 05/11/2023.",
        )
    )
    assert plan.report_deadline == date(2023, 11, 5)
    assert plan.report_recipient == "Đảng ủy khối"
    assert "Hạn báo cáo 05/11/2023 là hạn gửi Đảng ủy khối, không phải Ban Dân vận Tỉnh ủy; " \
        "kiểm tra lại trong bản nháp." in plan.problems  # fmt: skip


def test_observances_one_a_line_and_the_header_on_one_line():
    text = (
        "Số: 05/KH-SXD\tHà Nam, ngày 27/9/2023\nKẾ HOẠCH:\nTháng cao điểm dân vận năm 2023\n"
        "II. NỘI DUNG\n1. Tuyên truyền các ngày kỷ niệm trong tháng 10:\n"
        "- 01/10: Ngày Quốc tế Người cao tuổi;\n"
        "- 10/10/1954 - 10/10/2023: Kỷ niệm 69 năm Ngày Giải phóng Thủ đô;\n"
        "- 15/10/1930 – 15/10/2023: Kỷ niệm 93 năm Ngày truyền thống công tác dân vận của Đảng;\n"
        "- 01/10/2023 - 31/10/2023: hoạt động hưởng ứng ngày vì người nghèo.\n"
        "2. Thời gian: từ 01/10/2023 đến 31/10/2023.\n"
        "III. TỔ CHỨC THỰC HIỆN\nVăn phòng Sở báo cáo Ban Dân vận Tỉnh ủy trước ngày 05/11/2023.\n"
    )
    plan = parse_plan(text)
    assert (plan.plan_number, plan.plan_date) == ("05/KH-SXD", date(2023, 9, 27))
    assert plan.title == "Tháng cao điểm dân vận năm 2023"
    assert plan.content_items == ["Tuyên truyền các ngày kỷ niệm trong tháng 10"]
    assert [(o.date, o.name, o.years, o.founding_year) for o in plan.observances] == [
        (date(2023, 10, 1), "Ngày Quốc tế Người cao tuổi", None, None),
        (date(2023, 10, 10), "Ngày Giải phóng Thủ đô", 69, 1954),
        (date(2023, 10, 15), "Ngày truyền thống công tác dân vận của Đảng", 93, 1930),
    ]  # the period line "01/10/2023 - 31/10/2023: …" is not an observance
    assert (plan.period_start, plan.report_deadline) == (date(2023, 10, 1), date(2023, 11, 5))


def test_an_introduction_and_details_are_not_content_items():
    period = "- Bắt đầu từ ngày 01/10/2023 đến hết ngày 31/10/2023."
    text = _plan_with(period, "- Báo cáo kết quả gửi Ban Dân vận Tỉnh ủy trước ngày 05/11/2023.")
    text = text.replace(
        "1. Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng (15/10).",
        "Sở tập trung các nội dung như sau:\nCông tác tuyên truyền:\n- Treo băng rôn.\n"
        "- Đăng tin trên Website.\nDân vận chính quyền, cải cách hành chính.",
    )
    plan = parse_plan(text)
    assert plan.content_items == [
        "Công tác tuyên truyền",
        "Dân vận chính quyền, cải cách hành chính",
    ]


def test_unit_deadline_in_the_same_sentence_is_not_the_report_deadline():
    plan = parse_file("ke-hoach-han-don-vi.md")
    assert plan.report_deadline == date(2023, 11, 5)  # not 30/10, the units' date to the Sở
    assert plan.report_recipient == "Ban Dân vận Tỉnh ủy"
    assert plan.content_items == [
        "Tuyên truyền về Ngày truyền thống công tác dân vận của Đảng (15/10)",
        "Thực hiện dân vận chính quyền, cải cách hành chính",
    ]
    # The plan states no anniversary: none is made up.
    assert [(o.name, o.years, o.founding_year) for o in plan.observances] == [
        ("Ngày truyền thống công tác dân vận của Đảng", None, None)
    ]


def test_unit_deadline_listed_first_and_the_merged_ban_of_2025():
    plan = parse_file("ke-hoach-han-don-vi-2025.md")
    assert plan.report_deadline == date(2025, 11, 5)  # not 28/10 (units → Văn phòng Sở)
    assert plan.report_recipient == seed.ban_dan_van(2025)
    assert (plan.period_start, plan.period_end) == (date(2025, 10, 1), date(2025, 10, 31))
    assert plan.recipients[0] == seed.ban_dan_van(2025)
    assert plan.content_items == [  # "Tổ chức các hoạt động sau:" introduces them
        "Tuyên truyền kỷ niệm 95 năm Ngày truyền thống công tác dân vận của Đảng "
        "(15/10/1930 - 15/10/2025)",
        "Đẩy mạnh phong trào thi đua “Dân vận khéo” trong ngành xây dựng",
        "Thăm hỏi, tặng quà hộ nghèo nhân Ngày vì người nghèo (17/10)",
    ]
    danvan = plan.observances[0]
    assert (danvan.date, danvan.years, danvan.founding_year) == (date(2025, 10, 15), 95, 1930)


FIVE_ITEMS = [
    "Công tác tuyên truyền",
    "Dân vận chính quyền",
    "Phong trào thi đua “Dân vận khéo”",
    "An sinh xã hội: ủng hộ Quỹ “Vì người nghèo” nhân Ngày vì người nghèo (17/10)",
    "Hoạt động của công đoàn, đoàn thanh niên, nữ công chào mừng Ngày thành lập Hội Liên hiệp "
    "Phụ nữ Việt Nam (20/10)",
]


def test_five_numbered_content_items():
    plan = parse_file("ke-hoach-nam-noi-dung.md")
    assert plan.content_items == FIVE_ITEMS  # "6. Thời gian thực hiện" is the period
    assert plan.title == "Triển khai Tháng cao điểm dân vận năm 2023"
    assert (plan.plan_number, plan.plan_date) == ("131/KH-SXD", date(2023, 9, 28))
    assert (plan.period_start, plan.period_end) == (date(2023, 10, 1), date(2023, 10, 31))
    assert plan.report_deadline == date(2023, 11, 5)  # not 31/10 (units → Văn phòng Sở)
    assert [o.date.day for o in plan.observances] == [15, 17, 20]


def test_five_items_with_word_automatic_numbering():
    markdown = (DATA / "ke-hoach-nam-noi-dung.md").read_text(encoding="utf-8")
    data = markdown_to_docx(markdown, auto_numbering=True)
    text = extract_text("ke-hoach.docx", data)
    assert "1. Công tác tuyên truyền:" in text.splitlines()  # the number Word would show
    assert "Công tác tuyên truyền" not in docx.Document(io.BytesIO(data)).paragraphs[0].text
    assert parse_plan(text).to_json() == parse_file("ke-hoach-nam-noi-dung.md").to_json()


def test_missing_sections_are_none_with_a_message_each():
    plan = parse_file("ke-hoach-thieu-muc.md")
    assert plan.title == TITLE_2023
    assert (plan.plan_number, plan.plan_date) == ("140/KH-SXD", date(2023, 10, 2))
    assert plan.period_start is plan.period_end is plan.report_deadline is None
    assert plan.content_items == plan.observances == plan.recipients == []
    assert plan.problems == [
        "Không tìm thấy phần “Nơi nhận” ở cuối kế hoạch.",
        "Không tìm thấy thời gian thực hiện (câu “từ ngày … đến ngày …” trong mục Nội dung hoặc "
        "Thời gian).",
        "Không tìm thấy hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy (câu “… gửi về Ban Dân vận "
        "Tỉnh ủy trước ngày …”). Chỉ thấy hạn các đơn vị báo cáo về Sở (30/10/2023); hạn đó không "
        "phải hạn Sở báo cáo cấp trên.",
        "Không tìm thấy mục “II. Nội dung” của kế hoạch.",
        "Không tìm thấy ngày kỷ niệm nào (dạng “ngày … (15/10)” trong mục Nội dung).",
    ]
    data = plan.to_json()
    assert data["period_start"] is data["report_deadline"] is None


def test_text_that_is_not_a_plan():
    plan = parse_plan("Một đoạn văn bất kỳ, không phải kế hoạch.")
    assert plan.to_json() | {"problems": []} == {
        key: [] if key in ("content_items", "observances", "recipients", "problems") else None
        for key in JSON_KEYS
    }
    assert any("KẾ HOẠCH" in p for p in plan.problems)
    assert any("Số:" in p for p in plan.problems)
    assert len(plan.problems) == 8
    assert parse_plan("").problems == ["Văn bản kế hoạch trống."]


def test_invalid_and_inconsistent_dates_are_not_used():
    plan = parse_plan(
        _plan_with(
            "- Bắt đầu từ ngày 31/02/2023 đến hết ngày 31/10/2023.",
            "- Báo cáo gửi Ban Dân vận Tỉnh ủy trước ngày 05/11/2023.",
        )
    )
    assert plan.period_start is None and plan.period_end is None
    assert "Ngày không hợp lệ: “31/02/2023” (thời gian thực hiện)." in plan.problems
    reversed_plan = parse_plan(
        _plan_with("- Thời gian: từ 31/10/2023 đến 01/10/2023.", "- Báo cáo trước ngày 05/11/2023.")
    )
    assert reversed_plan.period_start is None
    assert any(p.startswith("Thời gian thực hiện không hợp lệ") for p in reversed_plan.problems)
    # A deadline with no addressee is taken, and the problems say to check who receives it.
    assert reversed_plan.report_deadline == date(2023, 11, 5)
    assert reversed_plan.report_recipient is None
    assert any("không nói báo cáo gửi cơ quan nào" in p for p in reversed_plan.problems)


def test_two_deadlines_without_an_addressee_are_not_guessed():
    plan = parse_plan(
        _plan_with(
            "- Thời gian: từ 01/10/2023 đến 31/10/2023.",
            "- Gửi báo cáo trước ngày 05/11/2023; gửi báo cáo bổ sung trước ngày 10/11/2023.",
        )
    )
    assert plan.report_deadline is None
    assert any(p.startswith("Có nhiều hạn báo cáo (05/11/2023, 10/11/2023)") for p in plan.problems)


# --- Reading files ----------------------------------------------------------------------------


PLAN_FILES = sorted(p.name for p in DATA.iterdir() if p.suffix in (".md", ".txt"))


def _as_docx(name: str) -> bytes:
    markdown = (DATA / name).read_text(encoding="utf-8")
    return markdown_to_docx(markdown, auto_numbering=name == "ke-hoach-nam-noi-dung.md")


def test_seed_docx_round_trip(seed_docx):
    text = extract_text("ke-hoach.docx", seed_docx)
    assert "Số: /KH-SXD" in text.splitlines()  # from the header table
    parsed = parse_plan(text)
    expected = parse_file(SEED_PLAN.name)
    assert parsed.to_json() == expected.to_json()
    assert parsed.report_recipient == expected.report_recipient


@pytest.mark.parametrize("name", PLAN_FILES)
def test_docx_round_trip(name):
    parsed = parse_plan(extract_text("ke-hoach.docx", _as_docx(name)))
    expected = parse_file(name)
    assert parsed.to_json() == expected.to_json()
    assert parsed.report_recipient == expected.report_recipient


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", PLAN_FILES)
def test_pdf_round_trip(name):
    """.docx → PDF with LibreOffice → pdftotext -layout: wrapped lines, two-column tables."""
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    pdf = pdfmod.docx_to_pdf(_as_docx(name), pdfa=False)
    parsed = parse_plan(extract_text("ke-hoach.pdf", pdf))
    expected = parse_file(name)
    assert parsed.to_json() == expected.to_json()
    assert parsed.report_recipient == expected.report_recipient
    if name == SEED_PLAN.name:  # the file's content decides, not its name
        assert parse_plan(extract_text("ke-hoach.txt", pdf)).to_json() == expected.to_json()


def test_pasted_text_is_normalised():
    raw = unicodedata.normalize("NFD", "KẾ HOẠCH\x0b\r\nTháng cao điểm\u200b dân vận\r\n")
    text = extract_text("", raw.encode("utf-8"))
    assert text == "KẾ HOẠCH\n\nTháng cao điểm dân vận"
    assert unicodedata.is_normalized("NFC", text)
    assert parse_plan(raw).title == "Tháng cao điểm dân vận"


# A PDF with one empty page: valid, but without a text layer (like a scan).
EMPTY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("ke-hoach.docx", b"", "Tệp rỗng"),
        ("ke-hoach.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "(.doc)"),
        ("ke-hoach.docx", b"PK\x03\x04 not really a zip", "Không đọc được tệp .docx"),
        ("ke-hoach.txt", "Kế hoạch".encode("cp1258", "replace") + b"\xff\xfe\xfa", "UTF-8"),
        ("ke-hoach.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "không được hỗ trợ"),
        ("ke-hoach.pdf", EMPTY_PDF, "không có lớp chữ"),
        ("ke-hoach.pdf", b"%PDF-1.4\nbroken", "Không đọc được tệp PDF"),
        ("ke-hoach.txt", b" \n\t\n", "Không tìm thấy chữ"),
    ],
)
def test_unreadable_files_say_why(filename, data, message):
    with pytest.raises(PlanTextError, match=re.escape(message)):
        extract_text(filename, data)


# --- The draft campaign -----------------------------------------------------------------------


def test_import_matches_the_seed_demo_2023_campaign(app):
    objects = seed.seed_demo()
    past, agency = objects["past"], objects["agency"]
    campaign = create_draft_campaign(agency, parse_file(SEED_PLAN.name), actor=None)
    assert campaign.status == "draft" and past.status == "active"
    for name in ("year", "period_start", "period_end", "report_deadline", "report_recipient"):
        assert getattr(campaign, name) == getattr(past, name), name
    assert campaign.report_subject == past.report_subject
    assert past.title == TITLE_2023
    assert campaign.title.startswith(past.title.removesuffix(" năm 2023"))
    assert campaign.recipient_lines == [r for r in past.recipient_lines if r in campaign.recipients]
    assert [o.day for o in campaign.observances] == [o.day for o in past.observances]
    assert [fold(o.name) for o in campaign.observances] == [fold(o.name) for o in past.observances]
    stated = [o for o in campaign.observances if o.founding_year is not None]
    assert [o.display_name for o in stated] == [
        "15/10 – Ngày truyền thống công tác dân vận của Đảng (93 năm)"
    ]
    assert stated[0].founding_year == next(
        o.founding_year for o in past.observances if fold(o.name) == fold(stated[0].name)
    )
    assert len(campaign.content_items) == len(past.content_items)
    # The second paragraph is longer than the column allows: kept whole up to 500 characters.
    assert all(len(item.title) <= 500 for item in campaign.content_items)
    assert campaign.content_items[1].title.endswith("…")
    assert campaign.content_items[0].title == SEED_ITEMS[0]
    db.session.commit()  # the database accepts it (PostgreSQL checks the lengths)


def test_draft_campaign_is_flushed_not_committed(world):
    before = db.session.scalar(select(func.count(Campaign.id)))
    campaign = create_draft_campaign(world.agency, parse_file(SEED_PLAN.name), actor=world.admin)
    assert campaign.id is not None
    assert [i.position for i in campaign.content_items] == [1, 2, 3, 4]
    log = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "campaign")).one()
    assert (log.action, log.actor_id, log.object_id) == ("import", world.admin.id, campaign.id)
    assert "(chưa có số)" in log.summary
    db.session.rollback()
    assert db.session.scalar(select(func.count(Campaign.id))) == before


def test_draft_needs_title_period_and_deadline(world):
    with pytest.raises(PlanImportError) as caught:
        create_draft_campaign(world.agency, parse_file("ke-hoach-thieu-muc.md"), actor=None)
    assert caught.value.problems == [
        "Thiếu thời gian thực hiện (từ ngày … đến ngày …).",
        "Thiếu hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy.",
    ]
    with pytest.raises(PlanImportError) as caught:
        create_draft_campaign(world.agency, parse_plan("Không phải kế hoạch."), actor=None)
    assert caught.value.problems[0] == "Thiếu tên kế hoạch (dòng sau “KẾ HOẠCH”)."
    assert len(caught.value.problems) == 3


def test_report_subject_follows_seed_py():
    subject = report_subject_for(parse_file("ke-hoach-ngay-viet-chu.md"))
    assert subject == "Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023"
    assert report_subject_for(parse_file("ke-hoach-nam-noi-dung.md")) == (
        "Kết quả triển khai Tháng cao điểm dân vận năm 2023"
    )


def test_draft_of_five_items_and_2025_plan(world):
    five = create_draft_campaign(world.agency, parse_file("ke-hoach-nam-noi-dung.md"), actor=None)
    assert [i.title for i in five.content_items] == FIVE_ITEMS
    assert five.plan_number == "131/KH-SXD" and five.plan_date == date(2023, 9, 28)
    later = create_draft_campaign(
        world.agency, parse_file("ke-hoach-han-don-vi-2025.md"), actor=None
    )
    assert later.year == 2025 and later.report_recipient == seed.ban_dan_van(2025)
    assert later.observances[0].display_name == (
        "15/10 – Ngày truyền thống công tác dân vận của Đảng (95 năm)"
    )
    db.session.commit()


# --- The command line -------------------------------------------------------------------------


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["danvan", "import-plan", *map(str, args)])


def test_cli_dry_run_prints_the_json(app):
    result = _cli(app, SEED_PLAN, "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == parse_file(SEED_PLAN.name).to_json()
    assert "Ngày truyền thống công tác dân vận của Đảng" in result.stdout  # not \u escapes
    assert db.session.scalar(select(func.count(Campaign.id))) == 0


def test_cli_dry_run_reads_a_docx(app, tmp_path, seed_docx):
    path = tmp_path / "ke-hoach.docx"
    path.write_bytes(seed_docx)
    result = _cli(app, path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == parse_file(SEED_PLAN.name).to_json()


@pytest.mark.parametrize("name", ["khong-co.md", "ke-hoach.doc", "rong.txt"])
def test_cli_exits_1_when_the_text_cannot_be_read(app, tmp_path, name):
    if name != "khong-co.md":
        (tmp_path / name).write_bytes(b"" if name == "rong.txt" else b"\xd0\xcf\x11\xe0")
    result = _cli(app, tmp_path / name, "--dry-run")
    assert result.exit_code == 1
    assert "Không đọc được" in result.stderr


def test_cli_creates_a_draft_campaign(app, world):
    result = _cli(app, SEED_PLAN)
    assert result.exit_code == 0, result.output
    campaign_id = int(re.search(r"Đã tạo kế hoạch nháp mã (\d+)", result.stdout).group(1))
    assert "Cần kiểm tra:" in result.stdout and "Số kế hoạch để trống" in result.stdout
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign.status == "draft" and campaign.agency_id == world.agency.id
    assert campaign.title == SEED_TITLE
    assert len(campaign.content_items) == 4 and len(campaign.observances) == 8
    assert campaign.recipient_lines == seed_recipients_in_plan()
    assert campaign.report_deadline == date(2023, 11, 5)


def test_cli_refuses_an_incomplete_plan(app, world):
    before = db.session.scalar(select(func.count(Campaign.id)))
    result = _cli(app, DATA / "ke-hoach-thieu-muc.md")
    assert result.exit_code == 1
    assert "Không tạo được kế hoạch nháp" in result.stderr
    assert "Thiếu hạn gửi báo cáo" in result.stderr
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Campaign.id))) == before


def test_cli_chooses_the_agency(app, world):
    other = Agency(
        name="SỞ TƯ PHÁP",
        full_name="Sở Tư pháp tỉnh Ninh Bình",
        parent_name="UBND TỈNH NINH BÌNH",
        abbreviation="STP",
        place_name="Ninh Bình",
    )
    db.session.add(other)
    db.session.commit()
    result = _cli(app, SEED_PLAN)
    assert result.exit_code != 0 and "--agency-id" in result.output
    assert _cli(app, SEED_PLAN, "--agency-id", 9999).exit_code != 0
    result = _cli(app, SEED_PLAN, "--agency-id", other.id)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalars(select(Campaign).where(Campaign.agency_id == other.id)).one()
