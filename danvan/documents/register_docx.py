"""Render the outgoing register (Sổ đăng ký văn bản đi, NĐ 30/2020 Phụ lục IV) as a .docx."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

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
    twips,
)
from danvan.documents.model import RegisterData, RegisterRow, clean_text, format_date

__all__ = ["REGISTER_COLUMNS", "render_register_docx"]

REGISTER_COLUMNS = (
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
)
# Landscape A4 text width: 297 - 30 - 15 = 252 mm.
COLUMN_WIDTHS = (26.0, 24.0, 52.0, 26.0, 32.0, 22.0, 13.0, 24.0, 18.0, 15.0)
COVER_WIDTHS = (100.0, 152.0)
DOTS = "…"

R12, R12B, R12I = RunFmt(12), RunFmt(12, bold=True), RunFmt(12, italic=True)
R14, R14B = RunFmt(14), RunFmt(14, bold=True)
CENTER = ParaFmt(align="center")
CELL = ParaFmt(align="center", before=40, after=40)
CELL_LEFT = ParaFmt(align="left", before=40, after=40)
ALIGNS = (CELL_LEFT, CELL, CELL_LEFT, CELL_LEFT, CELL_LEFT, CELL_LEFT, CELL, CELL, CELL, CELL_LEFT)


def render_register_docx(data: RegisterData) -> bytes:
    """Render the Sổ đăng ký văn bản đi of one year as a landscape .docx (deterministic bytes)."""
    doc = new_document(landscape=True)
    w = Writer(doc)
    setup_headers(w, doc.sections[0])
    _cover(w, data)
    w.page_break()
    _table(w, data.rows)
    name = clean_text(data.agency.name).strip()
    return save_deterministic(
        doc,
        title=f"Sổ đăng ký văn bản đi năm {data.year}",
        author=name,
        when=datetime(data.year, 1, 1),
    )


def _number_part(number_symbol: str) -> str:
    return clean_text(number_symbol).split("/", 1)[0].strip() or DOTS


def _cover(w: Writer, data: RegisterData) -> None:
    """Cover page: agency block, title, year, date and number ranges (NĐ 30 Phụ lục IV)."""
    left_w = COVER_WIDTHS[0]
    table = w.table(COVER_WIDTHS, rows=1, borders=False)
    name = clean_text(data.agency.name).strip()
    rule = max(12.0, min(text_width_mm(name, 13), left_w - 2) * 0.4)
    fill_cell(
        table.rows[0].cells[0]._tc,
        [
            w.para(CENTER, (clean_text(data.agency.parent_name).strip(), RunFmt(13))),
            w.para(CENTER, (name, RunFmt(13, bold=True))),
            short_rule(w, rule, left_w),
        ],
    )
    fill_cell(table.rows[0].cells[1]._tc, [w.para(CENTER, mark=R14)])
    w.add_para(
        ParaFmt(align="center", before=twips(45)), ("SỔ ĐĂNG KÝ VĂN BẢN ĐI", RunFmt(24, True))
    )
    w.add_para(ParaFmt(align="center", before=240), (f"Năm: {data.year}", RunFmt(16, True)))
    rows = data.rows
    if rows:
        first, last = min(r.doc_date for r in rows), max(r.doc_date for r in rows)
        dates = f"Từ ngày {format_date(first)} đến ngày {format_date(last)}"
        low, high = _number_part(rows[0].number_symbol), _number_part(rows[-1].number_symbol)
        numbers = f"Từ số {low} đến số {high}"
    else:
        dates, numbers = f"Từ ngày {DOTS} đến ngày {DOTS}", f"Từ số {DOTS} đến số {DOTS}"
    block = ParaFmt(align="left", left=twips(150), before=120)
    w.add_para(replace(block, before=twips(30)), (dates, R14))
    w.add_para(block, (numbers, R14))
    w.add_para(block, (f"Số văn bản đã đăng ký: {len(rows)}", R14))


def _cell_values(row: RegisterRow) -> list[str]:
    values = [
        row.number_symbol,
        format_date(row.doc_date),
        row.type_and_subject,
        row.signer,
        row.recipients,
        row.archive_holder,
        str(row.copies),
        format_date(row.sent_date) if row.sent_date else "",
        row.received_by,
        row.note,
    ]
    return [" ".join(clean_text(v).split()) for v in values]


def _table(w: Writer, rows: tuple[RegisterRow, ...]) -> None:
    """The 10-column register with a titled and a numbered header row, both repeated per page."""
    table = w.table(COLUMN_WIDTHS, rows=3, borders=True)
    titles, numbers, template = (row._tr for row in table.rows)
    for tr in (titles, numbers):
        mark_header_row(tr)
    for index, (tc, title) in enumerate(zip(titles.tc_lst, REGISTER_COLUMNS, strict=True), start=1):
        fill_cell(tc, [w.para(CELL, (title, R12B))], v_center=True)
        fill_cell(numbers.tc_lst[index - 1], [w.para(CELL, (str(index), R12I))], v_center=True)
    for tc, fmt in zip(template.tc_lst, ALIGNS, strict=True):
        fill_cell(tc, [w.para(fmt, ("x", R12))])
    template.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for row in rows:
        tr = copy.deepcopy(template)
        for t, value in zip(tr.iter(qn("w:t")), _cell_values(row), strict=True):
            t.text = value
        template.addprevious(tr)
    template.getparent().remove(template)
