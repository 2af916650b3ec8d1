"""Render the department's result report (BÁO CÁO) as an NĐ 30/2020 .docx."""

from __future__ import annotations

import copy
import io
from dataclasses import replace
from datetime import datetime

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from danvan.documents.docx_helpers import (
    ParaFmt,
    RunFmt,
    Writer,
    fill_cell,
    mark_header_row,
    new_document,
    save_deterministic,
    setup_headers,
    short_rule,
    text_width_mm,
)
from danvan.documents.model import (
    EntryLine,
    ReportData,
    UnitStats,
    clean_text,
    format_date_range,
    format_number,
    format_vnd,
    nd30_blank_date_line,
    nd30_date_line,
)
from danvan.documents.qr import qr_png

__all__ = ["render_report_docx"]

HEADER_WIDTHS = (63.0, 102.0)  # left: agency, right: Quốc hiệu (needs ≥ 96 mm at 13 pt bold)
SIGN_WIDTHS = (63.0, 102.0)
# Empty lines between the title and the name when there is no signature image (the draft, the
# PDF the PAdES stamps are drawn on): room for the signature and the 36 mm seal above the name.
SIGNATURE_SPACE_LINES = 7
TEXT_WIDTH = 165.0
# The appendix's columns: a figure's heading is the label of the entry form field it sums
# (danvan/models/entries.py ENTRY_FIELDS; tests/test_entry_form.py keeps them equal).
APPENDIX_WIDTHS = (8.0, 25.0, 13.0, 16.0, 14.0, 14.0, 14.0, 24.0, 24.0, 13.0)
APPENDIX_HEADINGS = (
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
)
BLANK = " " * 6
# Vietnamese alphabet order for "điểm" labels a), b), ... (no f, j, w, z).
POINT_LETTERS = tuple("abcdđeghiklmnopqrstuvxy")
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"

R11, R12, R13, R14 = RunFmt(11), RunFmt(12), RunFmt(13), RunFmt(14)
R12B, R13B, R14B = RunFmt(12, bold=True), RunFmt(13, bold=True), RunFmt(14, bold=True)
R12BI, R14I = RunFmt(12, bold=True, italic=True), RunFmt(14, italic=True)

CENTER = ParaFmt(align="center")
LEFT = ParaFmt(align="left")
BODY = ParaFmt(align="both", first_line=567, before=120, line=288)
HEAD1 = ParaFmt(
    align="both", first_line=567, before=120, line=288, keep_next=True, style_id="Heading1"
)
HEAD2 = ParaFmt(
    align="both", first_line=567, before=120, line=288, keep_next=True, style_id="Heading2"
)
UNIT = replace(BODY, keep_next=True)
CELL = ParaFmt(align="center", before=40, after=40)
CELL_LEFT = ParaFmt(align="left", before=40, after=40)
CELL_RIGHT = ParaFmt(align="right", before=40, after=40)


def render_report_docx(data: ReportData, signature_png: bytes | None = None) -> bytes:
    """Render `data` as an NĐ 30/2020 BÁO CÁO .docx and return its bytes (deterministic)."""
    return _ReportRenderer(data).render(signature_png)


def _sentence(text: str) -> str:
    """Strip `text` and make sure it ends with sentence punctuation."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else f"{text}."


def _number_label(data: ReportData) -> str:
    number = clean_text(data.number).strip() if data.number else ""
    if number.isdigit() and len(number) < 2:
        number = number.zfill(2)
    if data.is_draft or not number:
        number = BLANK
    return f"{number}/{clean_text(data.doc_symbol).strip()}"


def _with_number(prefix: str, data: ReportData) -> str:
    """ "Số: 05/BC-SXD", or "Số:      /BC-SXD" (six blanks) while the number is unassigned."""
    label = _number_label(data)
    return f"{prefix}{label}" if label.startswith(" ") else f"{prefix} {label}"


class _ReportRenderer:
    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.doc = new_document()
        self.w = Writer(self.doc)
        self.last_body = None

    def render(self, signature_png: bytes | None) -> bytes:
        data = self.data
        draft_mark = []
        if data.is_draft:
            draft_mark = [
                self.w.para(ParaFmt(align="right"), ("DỰ THẢO", RunFmt(14, True, boxed=True)))
            ]
        setup_headers(self.w, self.doc.sections[0], first_page=draft_mark)
        if data.verify_url and not data.is_draft:
            self._verification_footer(data.verify_url)
        self._header()
        self._title()
        self._body()
        self._signature(signature_png)
        self._appendix()
        d = data.issued_date
        when = datetime(d.year, d.month, d.day) if d else datetime(data.draft_year, 1, 1)
        title = f"{_with_number('Báo cáo số', data)}: {clean_text(data.subject)}"
        if data.is_draft:
            title = f"DỰ THẢO - {title}"
        return save_deterministic(self.doc, title=title, author=data.agency.name, when=when)

    # -- page 1 ---------------------------------------------------------------------------------
    def _header(self) -> None:
        data, w = self.data, self.w
        left_w, right_w = HEADER_WIDTHS
        table = w.table(HEADER_WIDTHS, rows=2, borders=False)
        name = clean_text(data.agency.name).strip()
        name_width = min(text_width_mm(name, 13), left_w - 2)
        date_line = (
            nd30_date_line(data.agency.place_name, data.issued_date)
            if data.issued_date and not data.is_draft
            else nd30_blank_date_line(data.agency.place_name, data.draft_year)
        )
        top, bottom = table.rows[0].cells, table.rows[1].cells
        fill_cell(
            top[0]._tc,
            [
                w.para(CENTER, (clean_text(data.agency.parent_name).strip(), R13)),
                w.para(CENTER, (name, R13B)),
                short_rule(w, max(12.0, name_width * 0.4), left_w),
            ],
        )
        fill_cell(
            top[1]._tc,
            [
                w.para(CENTER, (QUOC_HIEU, R13B)),
                w.para(CENTER, (TIEU_NGU, R14B)),
                short_rule(w, text_width_mm(TIEU_NGU, 14), right_w),
            ],
        )
        spaced = ParaFmt(align="center", before=120)
        fill_cell(bottom[0]._tc, [w.para(spaced, (_with_number("Số:", data), R13))])
        fill_cell(bottom[1]._tc, [w.para(spaced, (date_line, R14I))])

    def _title(self) -> None:
        w = self.w
        subject = clean_text(self.data.subject).strip()
        w.add_para(ParaFmt(align="center", before=360, keep_next=True), ("BÁO CÁO", R14B))
        w.add_para(ParaFmt(align="center", keep_next=True), (subject, R14B))
        rule = min(text_width_mm(subject, 14), TEXT_WIDTH) / 3
        w.add(short_rule(w, max(rule, 25.0), TEXT_WIDTH, before=20))

    # -- body -----------------------------------------------------------------------------------
    def _para(self, *runs: tuple[str, RunFmt], fmt: ParaFmt = BODY) -> None:
        self.last_body = self.w.add_para(fmt, *runs)

    def _text_block(self, text: str) -> None:
        lines = [line.strip() for line in clean_text(text).split("\n")]
        lines = [line for line in lines if line]
        for line in lines or ["Không có."]:
            self._para((line, R14))

    def _body(self) -> None:
        data = self.data
        self._para((clean_text(data.basis).strip(), R14), fmt=replace(BODY, before=240))
        self._para(("I. CÔNG TÁC LÃNH ĐẠO, CHỈ ĐẠO, TUYÊN TRUYỀN", R14B), fmt=HEAD1)
        self._text_block(data.section_leadership)
        self._para(("II. KẾT QUẢ THỰC HIỆN", R14B), fmt=HEAD1)
        for index, group in enumerate(data.content_groups, start=1):
            self._para((f"{index}. {clean_text(group.title).strip()}", R14B), fmt=HEAD2)
            if not any(unit.entries for unit in group.units):
                self._para(("Chưa có hoạt động được ghi nhận.", R14))
            units = [unit for unit in group.units if unit.entries]
            for point, unit in enumerate(units):
                letter = POINT_LETTERS[point % len(POINT_LETTERS)]
                if point >= len(POINT_LETTERS):
                    letter += str(point // len(POINT_LETTERS))
                label = f"{letter}) {clean_text(unit.unit_name).strip()}:"
                self._para((label, R14I), fmt=UNIT)
                for entry in unit.entries:
                    self._para(*self._entry_runs(entry))
        totals = (
            f"Tổng cộng đã tổ chức {format_number(data.total_activities)} hoạt động, thu hút "
            f"{format_number(data.total_participants)} lượt người tham gia; tổng kinh phí, quà "
            f"tặng, ủng hộ: {format_vnd(data.total_amount_vnd)}."
        )
        self._para((totals, R14))
        self._para(("III. ĐÁNH GIÁ CHUNG", R14B), fmt=HEAD1)
        self._para(("1. Ưu điểm", R14B), fmt=HEAD2)
        self._text_block(data.section_strengths)
        self._para(("2. Hạn chế", R14B), fmt=HEAD2)
        self._text_block(data.section_weaknesses)
        self._para(("IV. KIẾN NGHỊ, ĐỀ XUẤT", R14B), fmt=HEAD1)
        self._text_block(data.section_proposals)
        self._end_mark()

    @staticmethod
    def _entry_runs(e: EntryLine) -> list[tuple[str, RunFmt]]:
        runs: list[tuple[str, RunFmt]] = [("- ", R14)]
        observance = clean_text(e.observance).strip() if e.observance else ""
        if observance:
            runs.append((f"Hưởng ứng {observance}: ", R14I))
        where = [format_date_range(e.date_from, e.date_to)]
        place, form = clean_text(e.place).strip(), clean_text(e.activity_form).strip()
        if place:
            where.append(place)
        details = ", ".join(where) + (f"; hình thức: {form}" if form else "")
        title = clean_text(e.title).strip().rstrip(".")
        text = f"{title} ({details})"
        result = _sentence(clean_text(e.result))
        text += f": {result}" if result else "."
        if e.participants_officials or e.participants_citizens:
            text += (
                f" Số người tham gia: {format_number(e.participants_officials)} cán bộ, đảng viên;"
                f" {format_number(e.participants_citizens)} người dân."
            )
        if e.amount_vnd:
            text += f" Kinh phí/quà: {format_vnd(e.amount_vnd)}."
        gifts = "; ".join(
            line.strip(" ;") for line in clean_text(e.gifts).split("\n") if line.strip(" ;")
        )
        if gifts:
            text += f" Quà tặng, hiện vật: {_sentence(gifts)}"
        model = clean_text(e.model_name).strip() if e.model_name else ""
        if model:
            text += f" Mô hình “Dân vận khéo”: {model}."
        runs.append((text, R14))
        return runs

    def _end_mark(self) -> None:
        """Append "./." to the last body paragraph and keep it on the signature's page."""
        texts = self.last_body.findall(f"{qn('w:r')}/{qn('w:t')}")
        last = texts[-1]
        last.text = (last.text or "").rstrip(" .;:,") + "./."
        ppr = self.last_body.find(qn("w:pPr"))
        if ppr.find(qn("w:keepNext")) is None:
            ppr.insert_element_before(OxmlElement("w:keepNext"), *_PPR_AFTER_KEEP_NEXT)

    # -- Nơi nhận + signature -------------------------------------------------------------------
    def _signature(self, signature_png: bytes | None) -> None:
        data, w = self.data, self.w
        table = w.table(SIGN_WIDTHS, rows=1, borders=False)
        table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        left, right = table.rows[0].cells
        first = ParaFmt(align="left", before=240, keep_next=True)
        recipients = [
            clean_text(r).strip().removeprefix("-").strip().rstrip(";").strip()
            for r in data.recipients
        ]
        archive = clean_text(data.archive_line).strip().rstrip(".")
        lines = [f"- {r};" for r in recipients if r] + [f"- Lưu: {archive}."]
        fill_cell(
            left._tc,
            [w.para(first, ("Nơi nhận:", R12BI))] + [w.para(LEFT, (x, R11)) for x in lines],
        )

        signer = data.signer
        authority = clean_text(signer.authority_line).strip() if signer else "GIÁM ĐỐC"
        paragraphs = [w.para(ParaFmt(align="center", before=240), (authority.upper(), R14B))]
        if signer and signer.position_line:
            paragraphs.append(
                w.para(CENTER, (clean_text(signer.position_line).strip().upper(), R14B))
            )
        if signature_png:
            pic = w.para(ParaFmt(align="center", before=120, after=120), mark=R14)
            run = w.run("", R14)
            pic.append(run)
            Run(run, Paragraph(pic, self.doc._body)).add_picture(
                io.BytesIO(signature_png), width=Cm(4)
            )
            paragraphs.append(pic)
        else:
            paragraphs.extend(w.para(CENTER, mark=R14) for _ in range(SIGNATURE_SPACE_LINES))
        name = clean_text(signer.full_name).strip() if signer else ""
        paragraphs.append(w.para(CENTER, (name, R14B), mark=R14B))
        fill_cell(right._tc, paragraphs)

    def _verification_footer(self, url: str) -> None:
        """Page 1's footer: the QR code of the verification page and its URL in words."""
        footer = self.doc.sections[0].first_page_footer
        footer.is_linked_to_previous = False
        element = footer._element
        for child in list(element):
            element.remove(child)
        w = self.w
        p = w.para(ParaFmt(align="left"), mark=R11)
        run = w.run("", R11)
        p.append(run)
        Run(run, Paragraph(p, footer)).add_picture(io.BytesIO(qr_png(url)), width=Cm(1.8))
        p.append(w.run("  Xác thực văn bản điện tử: ", R11))
        p.append(w.run(url, R11))
        element.append(p)

    # -- Phụ lục --------------------------------------------------------------------------------
    def _section_break(self) -> None:
        """End the report's section; the appendix restarts page numbering at 1."""
        body_sect = self.doc.element.body.sectPr
        brk = self.w.para(replace(LEFT, exact_line=20), mark=RunFmt(size=1))
        brk.find(qn("w:pPr")).append(copy.deepcopy(body_sect))
        self.w.add(brk)
        for tag in ("w:headerReference", "w:footerReference"):
            for ref in body_sect.findall(qn(tag)):
                body_sect.remove(ref)
        # The appendix keeps the report's headers (page numbers) but not page 1's QR footer.
        if self.data.verify_url and not self.data.is_draft:
            self.doc.sections[-1].first_page_footer.is_linked_to_previous = False
        numbering = OxmlElement("w:pgNumType")
        numbering.set(qn("w:start"), "1")
        body_sect.insert_element_before(numbering, *_SECT_PR_AFTER_PG_NUM)

    def _appendix(self) -> None:
        data, w = self.data, self.w
        self._section_break()
        w.add_para(CENTER, ("Phụ lục", R14B))
        w.add_para(CENTER, ("SỐ LIỆU KẾT QUẢ THEO ĐƠN VỊ", R14B))
        if data.issued_date and not data.is_draft:
            day_part = nd30_date_line("", data.issued_date).removeprefix(", ")
        else:
            day_part = nd30_blank_date_line("", data.draft_year).removeprefix(", ")
        w.add_para(
            ParaFmt(align="center", after=240),
            (f"({_with_number('Kèm theo Báo cáo số', data)} {day_part})", R14I),
        )
        table = w.table(APPENDIX_WIDTHS, rows=3, borders=True)
        header, template, total = (row._tr for row in table.rows)
        mark_header_row(header)
        for tc, heading in zip(header.tc_lst, APPENDIX_HEADINGS, strict=True):
            fill_cell(tc, [w.para(CELL, (heading, R12B))], v_center=True)
        aligns = [CELL, CELL_LEFT] + [CELL] * 5 + [CELL_RIGHT, CELL_LEFT, CELL]
        for tc, fmt in zip(template.tc_lst, aligns, strict=True):
            fill_cell(tc, [w.para(fmt, ("x", R12))], v_center=True)
        template.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for index, stats in enumerate(data.appendix, start=1):
            tr = copy.deepcopy(template)
            values = [str(index), clean_text(stats.unit_name).strip(), *_stat_values(stats)]
            for t, value in zip(tr.iter(qn("w:t")), values, strict=True):
                t.text = " ".join(value.split())
            total.addprevious(tr)
        template.getparent().remove(template)
        sums = [
            format_number(sum(getattr(s, f) for s in data.appendix)) if f != "gifts" else ""
            for f in APPENDIX_FIELDS
        ]
        values = ["", "Tổng cộng", *sums]
        for tc, fmt, value in zip(total.tc_lst, aligns, values, strict=True):
            fill_cell(tc, [w.para(fmt, (value, R12B), mark=R12B)], v_center=True)


_PPR_AFTER_KEEP_NEXT = ("w:keepLines", "w:pageBreakBefore", "w:pBdr", "w:spacing", "w:ind", "w:jc")
_SECT_PR_AFTER_PG_NUM = (
    "w:cols",
    "w:formProt",
    "w:vAlign",
    "w:noEndnote",
    "w:titlePg",
    "w:textDirection",
    "w:bidi",
    "w:rtlGutter",
    "w:docGrid",
    "w:printerSettings",
    "w:sectPrChange",
)
# The UnitStats fields of the appendix's columns, in order (after STT and the unit's name).
APPENDIX_FIELDS = (
    "activities",
    "observance_activities",
    "officials",
    "citizens",
    "participants",
    "amount_vnd",
    "gifts",
    "models",
)


def _stat_values(stats: UnitStats) -> list[str]:
    return [
        clean_text(stats.gifts).strip()
        if field == "gifts"
        else format_number(getattr(stats, field))
        for field in APPENDIX_FIELDS
    ]
