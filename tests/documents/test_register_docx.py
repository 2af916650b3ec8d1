"""The Sổ đăng ký văn bản đi renderer (NĐ 30/2020 Điều 16, Phụ lục IV), read back from the XML."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, timedelta

import pytest
from lxml import etree

from danvan.documents.model import AgencyInfo, RegisterData, RegisterRow
from danvan.documents.register_docx import REGISTER_COLUMNS, render_register_docx

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
EXPECTED_COLUMNS = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]
AGENCY = AgencyInfo("UBND TỈNH HÀ NAM", "SỞ XÂY DỰNG", "SXD", "Hà Nam")


def make_register(count: int = 3, **row_overrides) -> RegisterData:
    rows = []
    for i in range(1, count + 1):
        values = dict(
            number_symbol=f"{i:02d}/BC-SXD",
            doc_date=date(2023, 10, 1) + timedelta(days=i),
            type_and_subject=(
                "Báo cáo kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023"
            ),
            signer="Nguyễn Văn An",
            recipients="Ban Dân vận Tỉnh ủy; Ban Tuyên giáo Đảng ủy khối",
            archive_holder="Văn phòng Sở",
            copies=5,
            sent_date=date(2023, 10, 2) + timedelta(days=i) if i % 2 else None,
            received_by="Trần Thị Bình",
            note="",
        )
        values.update(row_overrides)
        rows.append(RegisterRow(**values))
    return RegisterData(agency=AGENCY, year=2023, rows=tuple(rows))


def open_docx(blob: bytes):
    z = zipfile.ZipFile(io.BytesIO(blob))
    return z, etree.fromstring(z.read("word/document.xml"))


def text(el) -> str:
    return "".join(t.text or "" for t in el.iter(f"{{{W}}}t"))


def table_rows(doc) -> list:
    table = doc.findall("w:body/w:tbl", NS)[-1]
    return table.findall("w:tr", NS)


@pytest.fixture(scope="module")
def register():
    return open_docx(render_register_docx(make_register()))


def test_ten_columns_in_order_with_numbered_row(register):
    _z, doc = register
    titles, numbers, *data = table_rows(doc)
    assert [text(tc) for tc in titles.findall("w:tc", NS)] == EXPECTED_COLUMNS
    assert list(REGISTER_COLUMNS) == EXPECTED_COLUMNS
    assert [text(tc) for tc in numbers.findall("w:tc", NS)] == [str(i) for i in range(1, 11)]
    assert len(data) == 3
    first = [text(tc) for tc in data[0].findall("w:tc", NS)]
    assert first == [
        "01/BC-SXD",
        "02/10/2023",
        "Báo cáo kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023",
        "Nguyễn Văn An",
        "Ban Dân vận Tỉnh ủy; Ban Tuyên giáo Đảng ủy khối",
        "Văn phòng Sở",
        "5",
        "03/10/2023",
        "Trần Thị Bình",
        "",
    ]
    assert text(data[1].findall("w:tc", NS)[7]) == ""  # not sent yet


def test_header_rows_repeat_on_every_page(register):
    _z, doc = register
    titles, numbers, *data = table_rows(doc)
    for tr in (titles, numbers):
        assert tr.find("w:trPr/w:tblHeader", NS) is not None
    assert all(tr.find("w:trPr/w:tblHeader", NS) is None for tr in data)


def test_landscape_a4_with_nd30_margins(register):
    _z, doc = register
    sect_pr = doc.find("w:body/w:sectPr", NS)
    size = sect_pr.find("w:pgSz", NS)
    assert (size.get(f"{{{W}}}w"), size.get(f"{{{W}}}h")) == ("16838", "11906")
    assert size.get(f"{{{W}}}orient") == "landscape"
    margins = sect_pr.find("w:pgMar", NS)
    assert [margins.get(f"{{{W}}}{k}") for k in ("top", "bottom", "left", "right")] == [
        "1134",
        "1134",
        "1701",
        "850",
    ]
    table = doc.findall("w:body/w:tbl", NS)[-1]
    grid = [int(g.get(f"{{{W}}}w")) for g in table.findall("w:tblGrid/w:gridCol", NS)]
    assert len(grid) == 10 and abs(sum(grid) - (16838 - 1701 - 850)) < 20


def test_cover_block(register):
    _z, doc = register
    texts = [text(p) for p in doc.iter(f"{{{W}}}p")]
    for expected in (
        "UBND TỈNH HÀ NAM",
        "SỞ XÂY DỰNG",
        "SỔ ĐĂNG KÝ VĂN BẢN ĐI",
        "Năm: 2023",
        "Từ ngày 02/10/2023 đến ngày 04/10/2023",
        "Từ số 01 đến số 03",
    ):
        assert expected in texts
    assert texts.index("SỔ ĐĂNG KÝ VĂN BẢN ĐI") < texts.index("Số, ký hiệu văn bản")
    assert doc.find(".//w:br[@w:type='page']", NS) is not None  # cover on its own page


def test_fonts_are_times_new_roman_everywhere(register):
    z, _doc = register
    parts = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
    checked = 0
    for name in parts:
        if name == "word/numbering.xml":
            continue  # bullet glyph fonts; no list is used
        for rf in etree.fromstring(z.read(name)).iter(f"{{{W}}}rFonts"):
            checked += 1
            assert all(
                rf.get(f"{{{W}}}{a}") == "Times New Roman"
                for a in ("ascii", "hAnsi", "cs", "eastAsia")
            ), name
            assert not [k for k in rf.attrib if "heme" in k], name
    assert checked > 50


def test_user_text_is_cleaned_and_escaped():
    nfd = unicodedata.normalize("NFD", "Công văn về việc <A & B> 🎉\x0b")
    _z, doc = open_docx(render_register_docx(make_register(1, type_and_subject=nfd)))
    cell = text(table_rows(doc)[2].findall("w:tc", NS)[2])
    # NFC, control characters gone, and the emoji the official font cannot print left out.
    assert cell == "Công văn về việc <A & B>"


def test_empty_register_renders():
    _z, doc = open_docx(render_register_docx(RegisterData(AGENCY, 2024, ())))
    assert len(table_rows(doc)) == 2
    texts = [text(p) for p in doc.iter(f"{{{W}}}p")]
    assert "Năm: 2024" in texts and "Từ số … đến số …" in texts


def test_register_is_deterministic():
    first = render_register_docx(make_register(20))
    assert first == render_register_docx(make_register(20))
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
