"""The pre-signing check of a BÁO CÁO against NĐ 30/2020 Phụ lục I, on documents the renderer
makes (no deviation) and on deliberately broken copies of them (each deviation named)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from danvan.documents.model import SignerBlock
from danvan.documents.nd30_check import Deviation, check_report_docx
from danvan.documents.report_docx import render_report_docx
from tests.documents.test_report_docx import DRAFT, make_report


@pytest.fixture(scope="module")
def final() -> bytes:
    return render_report_docx(make_report())


def _edit(docx: bytes, change, part: str = "word/document.xml") -> bytes:
    """A copy of the .docx with ``change`` applied to one XML part's text."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                changed = change(data.decode("utf-8"))
                assert changed != data.decode("utf-8"), "the edit changed nothing"
                data = changed.encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


def _replace_text(old: str, new: str):
    return lambda xml: xml.replace(f">{old}<", f">{new}<", 1)


def _messages(deviations: list[Deviation]) -> list[str]:
    return [f"{d.part}: {d.message}" for d in deviations]


def test_the_rendered_report_has_no_deviation(final):
    assert check_report_docx(final) == []


def test_a_draft_may_leave_number_date_and_name_blank():
    draft = render_report_docx(make_report(**DRAFT))
    assert check_report_docx(draft, final=False) == []
    # The same draft offered for signature is not complete.
    messages = _messages(check_report_docx(draft, final=True))
    assert any(m.startswith("Số, ký hiệu:") for m in messages)
    assert any(m.startswith("Địa danh, ngày tháng:") for m in messages)


def test_a_deputy_signing_kt_has_no_deviation():
    signer = SignerBlock("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Bình")
    assert check_report_docx(render_report_docx(make_report(signer=signer))) == []


def test_wrong_font_size_of_the_title(final):
    def shrink_title(xml: str) -> str:
        # The run that holds "BÁO CÁO" (the title line): 14 pt → 12 pt.
        head, _, tail = xml.partition(">BÁO CÁO<")
        run_start = head.rindex("<w:r>")
        run = re.sub(r'<w:sz w:val="28"/>', '<w:sz w:val="24"/>', head[run_start:])
        return head[:run_start] + run + ">BÁO CÁO<" + tail

    assert _messages(check_report_docx(_edit(final, shrink_title))) == [
        "Tên loại văn bản: Cỡ chữ 12, quy định là 13–14."
    ]


def test_number_without_leading_zero(final):
    broken = _edit(final, _replace_text("Số: 05/BC-SXD", "Số: 5/BC-SXD"))
    assert _messages(check_report_docx(broken)) == [
        "Số, ký hiệu: Số nhỏ hơn 10 phải có số 0 phía trước: “05”."
    ]


def test_number_without_symbol(final):
    broken = _edit(final, _replace_text("Số: 05/BC-SXD", "Số: 5"))
    assert _messages(check_report_docx(broken)) == [
        "Số, ký hiệu: “Số: 5” không đúng dạng “Số: 05/BC-SXD” (số, dấu “/”, rồi ký hiệu)."
    ]


def test_symbol_in_lower_case_with_spaces(final):
    broken = _edit(final, _replace_text("Số: 05/BC-SXD", "Số: 05/bc - sxd"))
    assert any("không đúng dạng" in m for m in _messages(check_report_docx(broken)))


def test_date_written_with_slashes(final):
    broken = _edit(final, _replace_text("Hà Nam, ngày 05 tháng 11 năm 2023", "Hà Nam, 03/11/2023"))
    assert _messages(check_report_docx(broken)) == [
        "Địa danh, ngày tháng: “Hà Nam, 03/11/2023”: ngày tháng phải viết đầy đủ "
        "“ngày … tháng … năm …”, không viết dạng số như 03/11/2023."
    ]


def test_day_and_month_padding(final):
    broken = _edit(
        final,
        _replace_text("Hà Nam, ngày 05 tháng 11 năm 2023", "Hà Nam, ngày 5 tháng 03 năm 2024"),
    )
    assert _messages(check_report_docx(broken)) == [
        "Địa danh, ngày tháng: Tháng viết “03”, quy định là “3” (chỉ tháng 1, 2 thêm số 0).",
        "Địa danh, ngày tháng: Ngày nhỏ hơn 10 phải có số 0 phía trước: “05”.",
    ]


def test_no_recipients_block(final):
    def drop_recipients(xml: str) -> str:
        # Empty the left cell of the signature table: "Nơi nhận:" and its lines.
        start = xml.index(">Nơi nhận:<")
        cell_start = xml.rindex("<w:tc>", 0, start)
        cell_end = xml.index("</w:tc>", start)
        props_end = xml.index("</w:tcPr>", cell_start) + len("</w:tcPr>")
        return xml[:props_end] + "<w:p/>" + xml[cell_end:]

    messages = _messages(check_report_docx(_edit(final, drop_recipients)))
    assert messages == ["Nơi nhận: Thiếu phần “Nơi nhận:” bên trái, ngang hàng chức vụ người ký."]


def test_last_recipient_line_must_be_the_archive_copy(final):
    broken = _edit(final, _replace_text("- Lưu: VT, VP.", "- Lưu hồ sơ"))
    assert _messages(check_report_docx(broken)) == [
        "Nơi nhận: Dòng cuối phải là “- Lưu: VT, …” (bản lưu ở Văn thư)."
    ]


def test_margins_and_font_face(final):
    narrow = _edit(final, lambda xml: xml.replace('w:left="1701"', 'w:left="1134"'))
    assert "Trang giấy (phần 1): Lề trái 20 mm, quy định là 30–35 mm." in _messages(
        check_report_docx(narrow)
    )
    arial = _edit(final, lambda xml: xml.replace('w:ascii="Times New Roman"', 'w:ascii="Arial"', 1))
    assert _messages(check_report_docx(arial)) == [
        "Phông chữ: Dùng phông Arial; quy định là Times New Roman (Unicode TCVN 6909:2001)."
    ]


def test_page_number_on_page_one(final):
    def number_every_page(xml: str) -> str:
        return xml.replace("<w:titlePg/>", "", 1)

    assert _messages(check_report_docx(_edit(final, number_every_page))) == [
        "Số trang: Trang 1 không được đánh số (cần “trang đầu khác”)."
    ]


def test_motto_without_spaced_hyphens(final):
    broken = _edit(final, _replace_text("Độc lập - Tự do - Hạnh phúc", "Độc lập-Tự do-Hạnh phúc"))
    assert _messages(check_report_docx(broken)) == [
        "Tiêu ngữ: Thiếu hoặc viết sai dòng “Độc lập - Tự do - Hạnh phúc”."
    ]


def test_not_a_docx():
    assert _messages(check_report_docx(b"PK\x03\x04 not really")) == [
        "Tệp văn bản: Không đọc được tệp .docx."
    ]
