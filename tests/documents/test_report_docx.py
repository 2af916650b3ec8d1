"""The BÁO CÁO renderer against NĐ 30/2020 (nd30-format.md §1–§7, §10), read back from the XML."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import unicodedata
import uuid
import zipfile
import zlib
from dataclasses import replace
from datetime import date

import pytest
from lxml import etree

from danvan.documents.model import (
    AgencyInfo,
    ContentGroup,
    EntryLine,
    ReportData,
    SignerBlock,
    UnitGroup,
    UnitStats,
    clean_text,
    format_date,
    format_number,
    format_vnd,
    nd30_date_line,
)
from danvan.documents.report_docx import SIGNATURE_SPACE_LINES, render_report_docx
from tests.factories import require

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R_NS}
TNR = "Times New Roman"
AGENCY = AgencyInfo("UBND TỈNH HÀ NAM", "SỞ XÂY DỰNG", "SXD", "Hà Nam")
SUBJECT = "Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023"
BASIS = (
    "Thực hiện Kế hoạch số 112/KH-SXD ngày 09/10/2023 của Sở Xây dựng về tổ chức các hoạt động "
    "“Tháng cao điểm” thực hiện công tác dân vận nhân kỷ niệm 93 năm Ngày truyền thống công tác "
    "dân vận của Đảng (15/10/1930-15/10/2023), Sở Xây dựng báo cáo kết quả như sau:"
)
LEADERSHIP = (
    "Sở Xây dựng ban hành Kế hoạch tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân "
    "vận; quán triệt Nghị quyết số 25-NQ/TW ngày 03/6/2013 của Ban Chấp hành Trung ương Đảng (khóa "
    "XI) về tăng cường công tác dân vận trong tình hình mới.\n"
    "Văn phòng Sở thường xuyên cập nhật các văn bản của Trung ương, của tỉnh về công tác dân vận "
    "trên Website của Sở; tuyên truyền tư tưởng dân vận của Chủ tịch Hồ Chí Minh."
)


def _entry(title: str, unit: str, day: int, **kw) -> EntryLine:
    values = dict(
        title=title,
        unit_name=unit,
        date_from=date(2023, 10, day),
        date_to=date(2023, 10, day + 1),
        place="Hội trường Sở Xây dựng",
        activity_form="Hội nghị",
        observance=None,
        participants_officials=40,
        participants_citizens=15,
        amount_vnd=None,
        result="Nâng cao nhận thức của cán bộ, công chức về công tác dân vận",
    )
    values.update(kw)
    return EntryLine(**values)


def _groups(repeat: int = 1) -> tuple[ContentGroup, ...]:
    vp, cd, ql = "Văn phòng Sở", "Công đoàn cơ sở Sở Xây dựng", "Phòng Quản lý xây dựng"
    day15 = "Ngày truyền thống công tác dân vận của Đảng (15/10/1930 - 15/10/2023)"
    plan = [
        (
            "Tuyên truyền kỷ niệm các ngày lễ tháng 10",
            [
                (vp, _entry("Treo băng rôn, khẩu hiệu tuyên truyền", vp, 2, observance=day15)),
                (cd, _entry("Tọa đàm kỷ niệm Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam", cd, 18,
                            observance="Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam (20/10)",
                            participants_officials=35, participants_citizens=0,
                            amount_vnd=3_500_000)),
            ],
        ),
        (
            "Dân vận chính quyền, cải cách hành chính",
            [
                (ql, _entry("Tiếp nhận, giải quyết hồ sơ thủ tục hành chính", ql, 3,
                            result="Tiếp nhận 152 hồ sơ, giải quyết đúng hạn 100%",
                            participants_officials=6, participants_citizens=152)),
            ],
        ),
        (
            "Phong trào thi đua “Dân vận khéo”",
            [
                (vp, _entry("Đăng ký mô hình “Dân vận khéo” năm 2023", vp, 10,
                            model_name="Dân vận khéo trong giải quyết thủ tục hành chính")),
            ],
        ),
        (
            "An sinh xã hội, Quỹ “Vì người nghèo”",
            [
                (cd, _entry("Ủng hộ Quỹ “Vì người nghèo” một ngày lương", cd, 17,
                            observance="Ngày vì người nghèo (17/10)", amount_vnd=12_450_000,
                            participants_officials=98, participants_citizens=0)),
            ],
        ),
    ]  # fmt: skip
    groups = []
    for title, items in plan:
        units: dict[str, list[EntryLine]] = {}
        for unit, entry in items:
            units.setdefault(unit, []).extend([entry] * repeat)
        groups.append(ContentGroup(title, tuple(UnitGroup(u, tuple(e)) for u, e in units.items())))
    return tuple(groups)


def make_report(repeat: int = 1, **overrides) -> ReportData:
    """A sample report from the seed plan; totals and appendix computed from the entries."""
    groups = overrides.pop("content_groups", None) or _groups(repeat)
    entries = [e for g in groups for u in g.units for e in u.entries]
    stats = {}
    for e in entries:
        s = stats.setdefault(e.unit_name, [0] * 7)
        people = e.participants_officials + e.participants_citizens
        for i, v in enumerate(
            (
                1,
                people,
                e.participants_officials,
                e.participants_citizens,
                e.amount_vnd or 0,
                int(bool(e.observance)),
                int(bool(e.model_name)),
            )
        ):
            s[i] += v  # fmt: skip
    data = ReportData(
        agency=AGENCY,
        doc_symbol="BC-SXD",
        number="05",
        issued_date=date(2023, 11, 5),
        draft_year=2023,
        is_draft=False,
        subject=SUBJECT,
        basis=BASIS,
        section_leadership=LEADERSHIP,
        content_groups=groups,
        total_activities=len(entries),
        total_participants=sum(s[1] for s in stats.values()),
        total_amount_vnd=sum(s[4] for s in stats.values()),
        section_strengths="Các hoạt động được tổ chức thiết thực, đúng kế hoạch.",
        section_weaknesses="Một số đơn vị báo cáo còn chậm.",
        section_proposals="Đề nghị Ban Dân vận Tỉnh ủy tiếp tục quan tâm hướng dẫn.",
        recipients=("Ban Dân vận Tỉnh ủy", "Ban Tuyên giáo Đảng ủy khối", "Website của Sở"),
        signer=SignerBlock("GIÁM ĐỐC", None, "Nguyễn Văn An"),
        appendix=tuple(UnitStats(u, *v) for u, v in stats.items()),
    )
    return replace(data, **overrides)


DRAFT = dict(is_draft=True, number=None, issued_date=None, signer=None)


# -- reading helpers ---------------------------------------------------------------------------
class Docx:
    """A rendered .docx opened with lxml."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.zip = zipfile.ZipFile(io.BytesIO(blob))
        self.doc = self.xml("word/document.xml")
        self.body = self.doc.find("w:body", NS)
        rels = self.xml("word/_rels/document.xml.rels")
        self.targets = {r.get("Id"): r.get("Target") for r in rels}

    def xml(self, name: str):
        return etree.fromstring(self.zip.read(name))

    def header(self, sect_pr, kind: str):
        ref = sect_pr.find(f"w:headerReference[@w:type='{kind}']", NS)
        return self.xml("word/" + self.targets[ref.get(f"{{{R_NS}}}id")])

    def tables(self):
        return self.body.findall("w:tbl", NS)

    def texts(self) -> list[str]:
        return [t.text or "" for t in self.doc.iter(f"{{{W}}}t")]


def text(el) -> str:
    return "".join(t.text or "" for t in el.iter(f"{{{W}}}t"))


def rfmt(p) -> tuple[float, bool, bool]:
    """(size pt, bold, italic) of the first run of paragraph `p`."""
    rpr = p.find("w:r/w:rPr", NS)
    return (int(rpr.find("w:sz", NS).get(f"{{{W}}}val")) / 2, rpr.find("w:b", NS) is not None,
            rpr.find("w:i", NS) is not None)  # fmt: skip


def paras(el) -> list:
    return el.findall("w:p", NS)


def attr(el, path: str, name: str) -> str | None:
    found = el.find(path, NS)
    return None if found is None else found.get(f"{{{W}}}{name}")


def is_rule(p) -> bool:
    return p.find("w:pPr/w:pBdr/w:bottom", NS) is not None


def body_paragraphs(d: Docx) -> list:
    """Direct body paragraphs between the trích yếu rule and the signature table."""
    children = list(d.body)
    start = max(i for i, c in enumerate(children[: children.index(d.tables()[1])]) if is_rule(c))
    end = children.index(d.tables()[1])
    return [c for c in children[start + 1 : end] if c.tag == f"{{{W}}}p"]


@pytest.fixture(scope="module")
def final() -> Docx:
    return Docx(render_report_docx(make_report()))


@pytest.fixture(scope="module")
def draft() -> Docx:
    return Docx(render_report_docx(make_report(**DRAFT)))


# -- page setup, headers, fonts ----------------------------------------------------------------
def test_page_size_and_margins(final):
    sect_prs = final.body.findall(".//w:sectPr", NS)
    assert len(sect_prs) == 2  # report + phụ lục (own page numbering)
    for sect_pr in sect_prs:
        assert attr(sect_pr, "w:pgSz", "w") == "11906" and attr(sect_pr, "w:pgSz", "h") == "16838"
        margins = {k: attr(sect_pr, "w:pgMar", k) for k in ("top", "bottom", "left", "right")}
        assert margins == {"top": "1134", "bottom": "1134", "left": "1701", "right": "850"}
        assert sect_pr.find("w:titlePg", NS) is not None


def test_page_number_in_header_but_not_on_page_one(final):
    sect_pr = final.body.find("w:p/w:pPr/w:sectPr", NS)
    first, default = final.header(sect_pr, "first"), final.header(sect_pr, "default")
    assert not any("PAGE" in (i.text or "") for i in first.iter(f"{{{W}}}instrText"))
    instr = [i.text for i in default.iter(f"{{{W}}}instrText")]
    assert instr == [" PAGE "]
    p = default.find("w:p", NS)
    assert attr(p, "w:pPr/w:jc", "val") == "center" and rfmt(p)[0] == 14
    appendix = final.body.find("w:sectPr", NS)
    assert attr(appendix, "w:pgNumType", "start") == "1"


def test_every_rfonts_is_times_new_roman_without_theme_fonts(final):
    names = [
        n for n in final.zip.namelist() if re.match(r"word/(document|styles|header\d+)\.xml", n)
    ]
    assert {"word/document.xml", "word/styles.xml"} <= set(names)
    count = 0
    for name in names:
        for rf in final.xml(name).iter(f"{{{W}}}rFonts"):
            count += 1
            for a in ("ascii", "hAnsi", "cs", "eastAsia"):
                assert rf.get(f"{{{W}}}{a}") == TNR, (name, a)
            assert not [k for k in rf.attrib if "heme" in k], name
        for run in final.xml(name).iter(f"{{{W}}}r"):
            assert run.find("w:rPr/w:rFonts", NS) is not None, name
    assert count > 100
    assert "word/stylesWithEffects.xml" not in final.zip.namelist()
    defaults = final.xml("word/styles.xml").find("w:docDefaults/w:rPrDefault/w:rPr", NS)
    assert attr(defaults, "w:lang", "val") == "vi-VN"
    colors = {c.get(f"{{{W}}}val") for c in final.doc.iter(f"{{{W}}}color")}
    assert colors == {"000000"}


def test_header_table_layout_and_formats(final):
    table = final.tables()[0]
    assert attr(table, "w:tblPr/w:tblBorders/w:top", "val") == "nil"
    grid = [int(g.get(f"{{{W}}}w")) for g in table.findall("w:tblGrid/w:gridCol", NS)]
    tcw = [int(attr(tc, "w:tcPr/w:tcW", "w")) for tc in table.find("w:tr", NS).findall("w:tc", NS)]
    assert grid == tcw and sum(grid) == 9355 and grid[1] >= 5669  # right column ≥ 100 mm
    (left, right), (number, dated) = [tr.findall("w:tc", NS) for tr in table.findall("w:tr", NS)]
    parent, agency, rule = paras(left)
    assert (text(parent), rfmt(parent)) == ("UBND TỈNH HÀ NAM", (13, False, False))
    assert (text(agency), rfmt(agency)) == ("SỞ XÂY DỰNG", (13, True, False))
    assert is_rule(rule)
    rule_len = (
        grid[0] - int(attr(rule, "w:pPr/w:ind", "left")) - int(attr(rule, "w:pPr/w:ind", "right"))
    )
    agency_width = 32.2 * 1440 / 25.4  # "SỞ XÂY DỰNG" at 13 pt bold is 32.2 mm wide
    assert agency_width / 3 <= rule_len <= agency_width / 2
    nation, motto, motto_rule = paras(right)
    assert (text(nation), rfmt(nation)) == ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", (13, True, False))
    assert (text(motto), rfmt(motto)) == ("Độc lập - Tự do - Hạnh phúc", (14, True, False))
    ind = motto_rule.find("w:pPr/w:ind", NS)
    motto_rule_mm = (grid[1] - 2 * int(ind.get(f"{{{W}}}left"))) * 25.4 / 1440
    assert is_rule(motto_rule) and abs(motto_rule_mm - 60.5) < 2  # the motto's own width
    assert (text(paras(number)[0]), rfmt(paras(number)[0])) == ("Số: 05/BC-SXD", (13, False, False))
    date_p = paras(dated)[0]
    assert (text(date_p), rfmt(date_p)) == ("Hà Nam, ngày 05 tháng 11 năm 2023", (14, False, True))
    for p in paras(left) + paras(right):
        assert attr(p, "w:pPr/w:jc", "val") == "center"


def test_title_and_subject(final):
    children = list(final.body)
    after_header = children[children.index(final.tables()[0]) + 1 :]
    title, subject, rule = after_header[:3]
    assert (text(title), rfmt(title)) == ("BÁO CÁO", (14, True, False))
    assert (text(subject), rfmt(subject)) == (SUBJECT, (14, True, False))
    assert attr(title, "w:pPr/w:jc", "val") == attr(subject, "w:pPr/w:jc", "val") == "center"
    assert is_rule(rule) and attr(rule, "w:pPr/w:jc", "val") == "center"
    assert int(attr(rule, "w:pPr/w:ind", "left")) > 1000  # a short rule, not a full-width one


def test_body_paragraphs_are_justified_indented_and_spaced(final):
    body = body_paragraphs(final)
    assert len(body) > 15
    for p in body:
        assert attr(p, "w:pPr/w:jc", "val") == "both", text(p)
        assert attr(p, "w:pPr/w:ind", "firstLine") in ("567", "720")
        spacing = p.find("w:pPr/w:spacing", NS)
        gap = max(int(spacing.get(f"{{{W}}}before")), int(spacing.get(f"{{{W}}}after")))
        assert gap >= 120
        assert spacing.get(f"{{{W}}}lineRule") == "auto"
        assert 240 <= int(spacing.get(f"{{{W}}}line")) <= 360
        assert rfmt(p)[0] == 14
    assert text(body[0]) == BASIS


def test_body_sections_and_headings(final):
    body = [text(p) for p in body_paragraphs(final)]
    headings = [text(p) for p in body_paragraphs(final) if rfmt(p)[1]]
    assert headings == [
        "I. CÔNG TÁC LÃNH ĐẠO, CHỈ ĐẠO, TUYÊN TRUYỀN",
        "II. KẾT QUẢ THỰC HIỆN",
        "1. Tuyên truyền kỷ niệm các ngày lễ tháng 10",
        "2. Dân vận chính quyền, cải cách hành chính",
        "3. Phong trào thi đua “Dân vận khéo”",
        "4. An sinh xã hội, Quỹ “Vì người nghèo”",
        "III. ĐÁNH GIÁ CHUNG",
        "1. Ưu điểm",
        "2. Hạn chế",
        "IV. KIẾN NGHỊ, ĐỀ XUẤT",
    ]
    assert "a) Văn phòng Sở:" in body and "b) Công đoàn cơ sở Sở Xây dựng:" in body
    first_entry = next(t for t in body if t.startswith("- "))
    assert first_entry.startswith(
        "- Hưởng ứng Ngày truyền thống công tác dân vận của Đảng (15/10/1930 - 15/10/2023): "
        "Treo băng rôn, khẩu hiệu tuyên truyền (02/10/2023 - 03/10/2023, Hội trường Sở Xây dựng"
    )
    assert "Số người tham gia: 40 cán bộ, đảng viên; 15 người dân." in first_entry
    assert any("Kinh phí/quà: 12.450.000 đồng." in t for t in body)
    assert any(
        "Mô hình “Dân vận khéo”: Dân vận khéo trong giải quyết thủ tục hành chính" in t
        for t in body
    )
    totals = next(t for t in body if t.startswith("Tổng cộng"))
    assert totals == (
        "Tổng cộng đã tổ chức 5 hoạt động, thu hút 401 lượt người tham gia; tổng kinh phí, "
        "quà tặng, ủng hộ: 15.950.000 đồng."
    )


def test_body_ends_with_end_mark(final):
    last = body_paragraphs(final)[-1]
    assert text(last) == "Đề nghị Ban Dân vận Tỉnh ủy tiếp tục quan tâm hướng dẫn./."
    assert last.find("w:pPr/w:keepNext", NS) is not None  # never a page with only the signature
    assert sum(t.count("./.") for t in final.texts()) == 1


def test_recipients_block(final):
    left, _right = final.tables()[1].findall("w:tr/w:tc", NS)
    assert attr(final.tables()[1], "w:tblPr/w:tblBorders/w:insideV", "val") == "nil"
    head, *entries = paras(left)
    assert (text(head), rfmt(head)) == ("Nơi nhận:", (12, True, True))
    assert [text(p) for p in entries] == [
        "- Ban Dân vận Tỉnh ủy;",
        "- Ban Tuyên giáo Đảng ủy khối;",
        "- Website của Sở;",
        "- Lưu: VT, VP.",
    ]
    assert {rfmt(p) for p in entries} == {(11, False, False)}


def test_signer_block_head(final):
    _left, right = final.tables()[1].findall("w:tr/w:tc", NS)
    ps = paras(right)
    assert (text(ps[0]), rfmt(ps[0])) == ("GIÁM ĐỐC", (14, True, False))
    # Room for the signature image and the seal over its left third (36 mm).
    assert [text(p) for p in ps[1:-1]] == [""] * SIGNATURE_SPACE_LINES
    assert (text(ps[-1]), rfmt(ps[-1])) == ("Nguyễn Văn An", (14, True, False))
    assert {attr(p, "w:pPr/w:jc", "val") for p in ps} == {"center"}


def test_signer_block_deputy_signs_kt():
    signer = SignerBlock("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Bình")
    d = Docx(render_report_docx(make_report(signer=signer)))
    ps = paras(d.tables()[1].findall("w:tr/w:tc", NS)[1])
    assert [text(p) for p in ps[:2]] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    assert rfmt(ps[1]) == (14, True, False)
    assert text(ps[-1]) == "Trần Thị Bình" and len(ps[-1].findall("w:r", NS)) == 1


def test_signature_image_is_centred_between_title_and_name():
    d = Docx(render_report_docx(make_report(), signature_png=tiny_png()))
    ps = paras(d.tables()[1].findall("w:tr/w:tc", NS)[1])
    assert [text(p) for p in ps] == ["GIÁM ĐỐC", "", "Nguyễn Văn An"]
    extent = ps[1].find(".//{*}inline/{*}extent")
    assert abs(int(extent.get("cx")) - 1_440_000) < 1000  # 4 cm
    assert attr(ps[1], "w:pPr/w:jc", "val") == "center"
    assert any(n.startswith("word/media/") and n.endswith(".png") for n in d.zip.namelist())


def test_early_draft_without_signer_keeps_the_title(draft):
    ps = paras(draft.tables()[1].findall("w:tr/w:tc", NS)[1])
    assert text(ps[0]) == "GIÁM ĐỐC" and text(ps[-1]) == ""


def test_draft_mark_number_and_date(draft, final):
    sect_pr = draft.body.find("w:p/w:pPr/w:sectPr", NS)
    assert "DỰ THẢO" in text(draft.header(sect_pr, "first"))
    assert "DỰ THẢO" not in text(final.header(final.body.find("w:p/w:pPr/w:sectPr", NS), "first"))
    header = draft.tables()[0]
    number, dated = header.findall("w:tr", NS)[1].findall("w:tc", NS)
    assert text(number) == "Số:      /BC-SXD"
    assert text(dated) == "Hà Nam, ngày      tháng      năm 2023"
    assert "(Kèm theo Báo cáo số      /BC-SXD ngày      tháng      năm 2023)" in draft.texts()


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        (date(2023, 11, 5), "ngày 05 tháng 11 năm 2023"),
        (date(2020, 1, 5), "ngày 05 tháng 01 năm 2020"),
        (date(2019, 6, 29), "ngày 29 tháng 6 năm 2019"),
        (date(2024, 2, 15), "ngày 15 tháng 02 năm 2024"),
        (date(2020, 3, 5), "ngày 05 tháng 3 năm 2020"),
    ],
)
def test_date_line(issued, expected):
    assert nd30_date_line("Hà Nam", issued) == f"Hà Nam, {expected}"
    d = Docx(render_report_docx(make_report(issued_date=issued, draft_year=issued.year)))
    dated = d.tables()[0].findall("w:tr", NS)[1].findall("w:tc", NS)[1]
    assert text(dated) == f"Hà Nam, {expected}"
    assert f"(Kèm theo Báo cáo số 05/BC-SXD {expected})" in d.texts()


def test_single_digit_number_gets_leading_zero():
    d = Docx(render_report_docx(make_report(number="7")))
    assert "Số: 07/BC-SXD" in d.texts()


# -- text hygiene ------------------------------------------------------------------------------
def test_every_text_node_is_nfc(final):
    texts = final.texts()
    assert texts and all(unicodedata.is_normalized("NFC", t) for t in texts)


def test_nfd_input_comes_out_nfc():
    nfd = unicodedata.normalize("NFD", SUBJECT)
    assert nfd != SUBJECT
    d = Docx(render_report_docx(make_report(subject=nfd, section_strengths=nfd)))
    assert SUBJECT in d.texts()
    assert all(unicodedata.is_normalized("NFC", t) for t in d.texts())


def test_control_characters_are_stripped():
    dirty = "Hạn\x00 chế\x07 do\x0b thiếu\x1f kinh phí\x7f"
    d = Docx(render_report_docx(make_report(section_weaknesses=dirty, subject="Báo\x0c cáo")))
    assert "Hạn chế do thiếu kinh phí" in d.texts() and "Báo cáo" in d.texts()
    assert not any(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", t) for t in d.texts())


def test_markup_characters_emoji_and_long_words_survive():
    long_word = "Dânvận" * 50  # 300 characters, no break opportunity
    tricky = "A & B <x> \"trích\" 'dẫn' 🎉"
    printed = tricky.removesuffix(" 🎉")  # the official fonts cannot print emoji: dropped
    entry = _entry(tricky, "Đơn vị <&>", 2, result=long_word)
    groups = (ContentGroup("Nội dung & <thử>", (UnitGroup("Đơn vị <&>", (entry,)),)),)
    d = Docx(render_report_docx(make_report(content_groups=groups, section_proposals=tricky)))
    joined = "".join(d.texts())
    for needle in (printed, long_word, "1. Nội dung & <thử>", "a) Đơn vị <&>:", printed + "./."):
        assert needle in joined
    assert "🎉" not in joined
    assert "Đơn vị <&>" in d.texts()  # the appendix cell
    assert b"&amp;" in d.zip.read("word/document.xml")


def test_clean_text():
    assert clean_text("a\x00b\x0bc\td\ne\r\nf\x7f") == "abc\td\ne\nf"
    assert clean_text(unicodedata.normalize("NFD", "Hòa")) == "Hòa"
    assert clean_text(None) == ""


# -- appendix ----------------------------------------------------------------------------------
def test_appendix_table_and_totals(final):
    texts = final.texts()
    assert "Phụ lục" in texts and "SỐ LIỆU KẾT QUẢ THEO ĐƠN VỊ" in texts
    assert "(Kèm theo Báo cáo số 05/BC-SXD ngày 05 tháng 11 năm 2023)" in texts
    table = final.tables()[2]
    assert attr(table, "w:tblPr/w:tblBorders/w:insideH", "val") == "single"
    rows = [[text(tc) for tc in tr.findall("w:tc", NS)] for tr in table.findall("w:tr", NS)]
    assert rows[0] == [
        "TT",
        "Đơn vị",
        "Số hoạt động",
        "Hưởng ứng ngày kỷ niệm",
        "Cán bộ, đảng viên tham gia",
        "Người dân tham gia",
        "Tổng lượt người",
        "Kinh phí, quà (đồng)",
        "Quà tặng, hiện vật",
        "Mô hình “Dân vận khéo”",
    ]
    header = table.find("w:tr", NS)
    assert header.find("w:trPr/w:tblHeader", NS) is not None
    assert [r[:2] for r in rows[1:-1]] == [
        ["1", "Văn phòng Sở"],
        ["2", "Công đoàn cơ sở Sở Xây dựng"],
        ["3", "Phòng Quản lý xây dựng"],
    ]
    assert rows[2] == [
        "2",
        "Công đoàn cơ sở Sở Xây dựng",
        "2",
        "2",
        "133",
        "0",
        "133",
        "15.950.000",
        "",
        "0",
    ]
    total = rows[-1]
    assert total[1] == "Tổng cộng" and total[8] == ""  # gifts are text, not summed
    for col in (2, 3, 4, 5, 6, 7, 9):
        expected = sum(int(r[col].replace(".", "")) for r in rows[1:-1])
        assert total[col] == format_number(expected)
    assert total[7] == "15.950.000" and total[6] == "401"
    assert all(rfmt(p)[1] for p in table.findall("w:tr", NS)[-1].iter(f"{{{W}}}p"))


# -- determinism -------------------------------------------------------------------------------
def test_rendering_is_deterministic():
    data = make_report()
    first, second = render_report_docx(data), render_report_docx(make_report())
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        infos = z.infolist()
        assert infos[0].filename == "[Content_Types].xml"
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        core = z.read("docProps/core.xml").decode()
    assert "<dc:creator>SỞ XÂY DỰNG</dc:creator>" in core
    assert "2023-11-05T00:00:00Z" in core and "python-docx" not in core
    assert render_report_docx(data, tiny_png()) == render_report_docx(data, tiny_png())
    assert render_report_docx(make_report(**DRAFT)) != first


# -- formatting helpers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234567, "1.234.567"), (1234.5, "1.234,5"), (0, "0"), (999, "999"), (83.07, "83,07"),
     (-1500, "-1.500"), (1234.0, "1.234")],
)  # fmt: skip
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_format_vnd_and_date():
    assert format_vnd(1234500) == "1.234.500 đồng"
    assert format_date(date(2023, 10, 2)) == "02/10/2023"
    assert format_number(83.0666, decimals=2) == "83,07"


# -- LibreOffice rendering ---------------------------------------------------------------------
def _require_tools() -> None:
    missing = [t for t in ("soffice", "pdftotext", "pdffonts") if shutil.which(t) is None]
    require(not missing, f"LibreOffice/poppler not installed ({', '.join(missing)} missing)")


def to_pdf(blob: bytes, tmp_path) -> bytes:
    """Convert a .docx with a private LibreOffice profile; return the PDF bytes."""
    src = tmp_path / "report.docx"
    src.write_bytes(blob)
    profile = f"file:///tmp/lo-{uuid.uuid4().hex}"
    cmd = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
           "--outdir", str(tmp_path), str(src)]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    finally:
        shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    out = tmp_path / "report.pdf"
    assert out.exists(), "LibreOffice wrote no PDF"
    return out.read_bytes()


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.mark.libreoffice
def test_libreoffice_rendering(tmp_path):
    _require_tools()
    data = make_report(
        repeat=3, signer=SignerBlock("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị Bình")
    )
    pdf = tmp_path / "out.pdf"
    pdf.write_bytes(to_pdf(render_report_docx(data, signature_png=tiny_png()), tmp_path))
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all("LiberationSerif" in line for line in fonts), fonts
    pages = _run("pdftotext", "-layout", str(pdf), "-").split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 3
    first = pages[0].splitlines()
    assert any("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in line for line in first)
    assert any(
        "Số: 05/BC-SXD" in line and "Hà Nam, ngày 05 tháng 11 năm 2023" in line for line in first
    )
    assert not any(line.strip().isdigit() for line in first)  # no page number on page 1
    assert pages[1].strip().startswith("2")
    signed = next(i for i, p in enumerate(pages) if "Nơi nhận:" in p)
    assert "Trần Thị Bình" in pages[signed] and "KT. GIÁM ĐỐC" in pages[signed]
    appendix = next(i for i, p in enumerate(pages) if "SỐ LIỆU KẾT QUẢ THEO ĐƠN VỊ" in p)
    assert appendix > signed and not pages[appendix].strip()[0].isdigit()  # numbering restarts
    assert "Tổng cộng" in pages[appendix]


def tiny_png(width: int = 60, height: int = 24) -> bytes:
    """A small blue RGBA PNG (no Pillow needed)."""
    row = b"\x00" + b"\x10\x30\xc0\xff" * width

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height))
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")
