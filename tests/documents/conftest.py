"""Fixtures for the PDF/signing tests: demo PKIs, a sample ND 30 style .docx and signed PDFs.

Test modules use fixtures only (never `from conftest import ...`: several conftest.py files
share that module name).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from danvan.demo import artwork
from danvan.demo import pki as demo
from danvan.documents import pdf, signing
from tests.factories import require

PASSWORD = b"demo-pass"
AGENCY = "Sở Xây dựng tỉnh Hà Nam"
DIRECTOR_NAME = "Nguyễn Quang Huy"
DIRECTOR_CN = "Nguyễn Quang Huy - Giám đốc Sở Xây dựng"
DEPUTY_CN = "Trần Thị Bích Ngọc - Phó Giám đốc Sở Xây dựng"
VN_TZ = timezone(timedelta(hours=7))
AGENCY_SIGNED_AT = datetime(2023, 11, 5, 9, 30, 15, tzinfo=VN_TZ)
NUMBER_SYMBOL = "05/BC-SXD"


def require_libreoffice() -> None:
    """Skip (or fail on CI) when LibreOffice is missing."""
    require(
        pdf.libreoffice_available(),
        "LibreOffice (soffice) chưa được cài: cần để thử chuyển .docx sang PDF",
    )


def _fonts(run, size: float = 14, bold: bool = False, italic: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    rpr = run._r.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), "Times New Roman")


def _para(container, text: str = "", *, size=14, bold=False, italic=False, align=None):
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    if text:
        _fonts(p.add_run(text), size, bold, italic)
    return p


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.insert_element_before(
        borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook"
    )


def build_sample_docx(
    *, name: str = DIRECTOR_NAME, deputy: bool = False, body_paragraphs: int = 6
) -> bytes:
    """A small BÁO CÁO ending with the ND 30 signer block on the right half of the page."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin = sec.bottom_margin = Mm(20)
    sec.left_margin, sec.right_margin = Mm(30), Mm(15)
    centre = 1  # WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, "BÁO CÁO", bold=True, align=centre)
    _para(doc, "Tình hình thực hiện kế hoạch xây dựng năm 2023", bold=True, align=centre)
    for i in range(body_paragraphs):
        p = _para(
            doc,
            f"{i + 1}. Trong kỳ báo cáo, Sở Xây dựng đã triển khai đầy đủ các nhiệm vụ được giao;"
            " kết quả cụ thể như sau: hoàn thành thẩm định 12 dự án, cấp 45 giấy phép xây dựng.",
            align=3,
        )
        p.paragraph_format.first_line_indent = Mm(12.7)
        p.paragraph_format.space_before = Pt(6)
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    _no_borders(table)
    widths = (Mm(70), Mm(95))
    for col, width in zip(table.columns, widths, strict=True):
        col.width = width
    # Keep the signer block on one page, as the real renderer does (w:cantSplit).
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = table.rows[0].cells
    left.width, right.width = widths
    left.paragraphs[0].text = ""
    _fonts(left.paragraphs[0].add_run("Nơi nhận:"), 12, bold=True, italic=True)
    for line in ("- UBND tỉnh Hà Nam;", "- Lưu: VT, VP."):
        _para(left, line, size=11)
    titles = ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"] if deputy else ["GIÁM ĐỐC"]
    first = right.paragraphs[0]
    first.alignment = centre
    _fonts(first.add_run(titles[0]), 14, bold=True)
    for title in titles[1:]:
        _para(right, title, bold=True, align=centre)
    for _ in range(4):
        _para(right, "", align=centre)
    _para(right, name, bold=True, align=centre)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _people() -> list[tuple[str, str]]:
    return [("director", DIRECTOR_CN), ("deputy", DEPUTY_CN), ("agency", AGENCY)]


@pytest.fixture(scope="session")
def consts() -> SimpleNamespace:
    """Names and values the sample documents and signatures use."""
    return SimpleNamespace(
        PASSWORD=PASSWORD,
        AGENCY=AGENCY,
        DIRECTOR_NAME=DIRECTOR_NAME,
        DIRECTOR_CN=DIRECTOR_CN,
        DEPUTY_CN=DEPUTY_CN,
        VN_TZ=VN_TZ,
        AGENCY_SIGNED_AT=AGENCY_SIGNED_AT,
        NUMBER_SYMBOL=NUMBER_SYMBOL,
    )


@pytest.fixture
def needs_libreoffice() -> None:
    """Skip without LibreOffice (fail on CI)."""
    require_libreoffice()


@pytest.fixture(scope="session")
def make_docx():
    """Factory: build_sample_docx(name=..., deputy=..., body_paragraphs=...)."""
    return build_sample_docx


@pytest.fixture(scope="session")
def demo_pki() -> demo.DemoPKI:
    return demo.make_demo_pki(agency_name=AGENCY, people=_people(), password=PASSWORD)


@pytest.fixture(scope="session")
def foreign_pki() -> demo.DemoPKI:
    return demo.make_demo_pki(agency_name="Cơ quan khác", people=_people(), password=PASSWORD)


@pytest.fixture(scope="session")
def trust_roots(demo_pki) -> list:
    return [demo_pki.ca_cert]


@pytest.fixture(scope="session")
def sample_docx() -> bytes:
    return build_sample_docx()


@pytest.fixture(scope="session")
def sample_pdf(sample_docx) -> bytes:
    require_libreoffice()
    return pdf.docx_to_pdf(sample_docx)


@pytest.fixture(scope="session")
def signature_png() -> bytes:
    return artwork.make_signature_png(DIRECTOR_NAME)


@pytest.fixture(scope="session")
def seal_png() -> bytes:
    return artwork.make_seal_png("Sở Xây dựng", "UBND tỉnh Hà Nam")


@pytest.fixture(scope="session")
def director_signed_pdf(sample_pdf, sample_docx, demo_pki, signature_png) -> bytes:
    return signing.sign_by_signer(
        sample_pdf,
        signer=demo_pki.signer("director"),
        signature_png=signature_png,
        docx=sample_docx,
        docx_name="05-BC-SXD.docx",
        signer_name=DIRECTOR_NAME,
        reason="Phê duyệt báo cáo",
        location="Hà Nam",
    )


@pytest.fixture(scope="session")
def doubly_signed_pdf(director_signed_pdf, demo_pki, seal_png) -> bytes:
    return signing.sign_by_agency(
        director_signed_pdf,
        signer=demo_pki.signer("agency"),
        seal_png=seal_png,
        number_symbol=NUMBER_SYMBOL,
        signed_at=AGENCY_SIGNED_AT,
        location="Hà Nam",
    )
