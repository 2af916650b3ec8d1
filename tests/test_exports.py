"""Exports: the entry list as .xlsx and .csv, the per-unit statistics sheet, the CLI command."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import unicodedata
from datetime import date, datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select

from danvan.documents.pdf import libreoffice_available
from danvan.documents.report_docx import APPENDIX_HEADINGS
from danvan.exports import workbook
from danvan.extensions import db
from danvan.models import Blob, Campaign, Entry
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.workflow import EntryAction
from tests.factories import approve, require, signed_report

HEADERS = [
    "STT",
    "Đơn vị",
    "Nội dung",
    "Tên hoạt động",
    "Từ ngày",
    "Đến ngày",
    "Địa điểm",
    "Hình thức",
    "Ngày kỷ niệm",
    "Cán bộ/đảng viên",
    "Người dân",
    "Tổng người tham gia",
    "Kinh phí (đồng)",
    "Mô hình “Dân vận khéo”",
    "Trạng thái",
    "Kết quả",
]
COL = {name: i for i, name in enumerate(HEADERS)}


def xlsx_url(campaign, query: str = "") -> str:
    return f"/ke-hoach/{campaign.id}/xuat/hoat-dong.xlsx{query}"


def csv_url(campaign, query: str = "") -> str:
    return f"/ke-hoach/{campaign.id}/xuat/hoat-dong.csv{query}"


def load(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def titles(data: bytes) -> list[str]:
    return [r[COL["Tên hoạt động"]] for r in rows_of(load(data)[workbook.ENTRIES_SHEET])]


def submit(world, author, **fields) -> Entry:
    entry = ops.create_entry(world.campaign, actor=author, fields=world.entry_fields(**fields))
    ops.act(entry, EntryAction.SUBMIT, actor=author)
    return entry


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


# --- The workbook's shape -------------------------------------------------------------------


def test_workbook_headers_types_formats_and_layout(dept, login):
    latest = db.session.scalars(select(Entry).order_by(Entry.id.desc())).first()
    latest.result = "Quán triệt đầy đủ. " * 20  # wraps onto several lines in "Kết quả"
    db.session.commit()
    client = login(dept.office)
    response = client.get(xlsx_url(dept.campaign))
    assert response.status_code == 200
    assert response.mimetype == workbook.XLSX_MIMETYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="hoat-dong-2023.xlsx"; '
        "filename*=UTF-8''ho%E1%BA%A1t-%C4%91%E1%BB%99ng-2023.xlsx"
    )
    wb = load(response.data)
    assert wb.sheetnames == ["Hoạt động", "Thống kê theo đơn vị"]
    ws = wb["Hoạt động"]
    assert [c.value for c in ws[1]] == HEADERS
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert all(ws.column_dimensions[letter].width > 5 for letter in "ABCDEFGHIJKLMNOP")
    assert ws.column_dimensions["D"].width >= 30  # Tên hoạt động
    rows = rows_of(ws)
    assert len(rows) == 3 and [r[0] for r in rows] == [1, 2, 3]
    first = ws[2]
    assert first[COL["Tên hoạt động"]].value == "Hoạt động số 3 & <thử> “trích dẫn”"
    assert first[COL["Đơn vị"]].value == "Thanh tra Sở"
    assert first[COL["Nội dung"]].value == "1. Tuyên truyền Ngày truyền thống công tác dân vận"
    assert first[COL["Ngày kỷ niệm"]].value == "Ngày truyền thống công tác dân vận"
    assert first[COL["Trạng thái"]].value == "Đã duyệt"
    for name in ("Từ ngày", "Đến ngày"):
        cell = first[COL[name]]
        assert isinstance(cell.value, datetime) and cell.value.date() == date(2023, 10, 12)
        assert cell.number_format == "dd/mm/yyyy" and cell.is_date
    figures = {"Cán bộ/đảng viên": 40, "Người dân": 15, "Tổng người tham gia": 55}
    figures["Kinh phí (đồng)"] = 1_234_500
    for name, value in figures.items():
        cell = first[COL[name]]
        assert cell.value == value and type(cell.value) is int and cell.data_type == "n"
        assert cell.number_format == "[$-42A]#,##0"
    assert first[COL["Kết quả"]].alignment.wrap_text
    # Rows are as tall as their wrapped text (no overlap in Calc); printed landscape, fit to width.
    assert ws.row_dimensions[2].height >= 7 * 15
    assert ws.row_dimensions[3].height == 30  # "Nội dung" on two lines
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    assert first[COL["Mô hình “Dân vận khéo”"]].value is None
    assert wb.properties.language == "vi-VN"


def test_statistics_sheet_is_the_appendix_layout_with_a_total_row(dept, login):
    approve(
        dept,
        dept.staff_b,
        dept.head_b,
        title="Thăm hỏi hộ nghèo",
        participants_officials=7,
        participants_citizens=1200,
        amount_vnd=5_000_000,
        observance_id=None,
        model_name="Dân vận khéo trong giải phóng mặt bằng",
        gifts="20 suất quà",
    )
    submit(dept, dept.staff_a, title="Đang chờ duyệt", amount_vnd=999)  # not counted
    db.session.commit()
    ws = load(login(dept.office).get(xlsx_url(dept.campaign)).data)["Thống kê theo đơn vị"]
    assert tuple(c.value for c in ws[1]) == APPENDIX_HEADINGS
    assert ws.freeze_panes == "A2"
    rows = [list(r) for r in ws.iter_rows(min_row=2, max_row=5, values_only=True)]
    # Every unit of the agency in the report's order, zeros included; then Tổng cộng.
    assert rows == [
        [1, "Văn phòng Sở", 0, 0, 0, 0, 0, 0, None, 0],
        [2, "Phòng Quản lý xây dựng", 2, 2, 80, 30, 110, 2_469_000, None, 0],
        [3, "Thanh tra Sở", 2, 1, 47, 1215, 1262, 6_234_500, "20 suất quà", 1],
        [None, "Tổng cộng", 4, 3, 127, 1245, 1372, 8_703_500, None, 1],
    ]
    assert all(c.font.b for c in ws[5])
    assert ws.cell(row=3, column=8).number_format == "[$-42A]#,##0"
    note = ws.cell(row=7, column=1).value
    assert note.startswith("Số liệu tạm tính: các hồ sơ đã duyệt và đã ký")
    assert "không theo bộ lọc" in note


# --- Filters and visibility ------------------------------------------------------------------


def test_exports_honour_the_entry_list_filters(world, login):
    submit(world, world.staff_a, title="Hội nghị dân vận khéo")
    submit(
        world,
        world.staff_a,
        title="Tiếp công dân",
        date_from=date(2023, 10, 20),
        date_to=date(2023, 10, 21),
    )
    approve(world, world.staff_b, world.head_b, title="Thăm hỏi người nghèo")
    db.session.commit()
    client = login(world.office)
    campaign = world.campaign
    assert sorted(titles(client.get(xlsx_url(campaign)).data)) == [
        "Hội nghị dân vận khéo",
        "Thăm hỏi người nghèo",
        "Tiếp công dân",
    ]
    assert titles(client.get(xlsx_url(campaign, "?q=dan+van")).data) == ["Hội nghị dân vận khéo"]
    assert titles(client.get(xlsx_url(campaign, "?q=NGHEO")).data) == ["Thăm hỏi người nghèo"]
    unit_b = f"?don_vi={world.unit_b.id}"
    assert titles(client.get(xlsx_url(campaign, unit_b)).data) == ["Thăm hỏi người nghèo"]
    approved = titles(client.get(xlsx_url(campaign, "?trang_thai=approved")).data)
    assert approved == ["Thăm hỏi người nghèo"]
    later = titles(client.get(xlsx_url(campaign, "?tu_ngay=13/10/2023")).data)
    assert later == ["Tiếp công dân"]
    rows = csv_rows(client.get(csv_url(campaign, "?q=dan+van&trang_thai=pending")).data)
    assert [r[COL["Tên hoạt động"]] for r in rows[1:]] == ["Hội nghị dân vận khéo"]
    # The statistics sheet ignores the filters: the whole campaign.
    ws = load(client.get(xlsx_url(campaign, unit_b)).data)["Thống kê theo đơn vị"]
    assert ws.cell(row=5, column=2).value == "Tổng cộng" and ws.cell(row=5, column=3).value == 1


def test_the_entry_list_links_carry_its_filters(world, login):
    client = login(world.office)
    page = client.get(f"/hoat-dong?don_vi={world.unit_a.id}&q=d%C3%A2n+v%E1%BA%ADn&campaign_id=9")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    links = re.findall(r'href="(/ke-hoach/\d+/xuat/hoat-dong\.(?:xlsx|csv)[^"]*)"', text)
    assert len(links) == 2
    for link in links:
        assert link.startswith(f"/ke-hoach/{world.campaign.id}/xuat/")
        assert f"don_vi={world.unit_a.id}" in link and "q=d%C3%A2n+v%E1%BA%ADn" in link
        assert "campaign_id" not in link
    assert "Tải Excel (.xlsx)" in text and "Tải CSV" in text


def test_staff_export_only_what_they_may_see(world, login):
    submit(world, world.staff_a, title="Của phòng A")
    approve(world, world.staff_b, world.head_b, title="Của thanh tra")
    ops.create_entry(world.campaign, actor=world.staff_b, fields=world.entry_fields(title="Nháp B"))
    db.session.commit()
    client = login(world.staff_a)
    data = client.get(xlsx_url(world.campaign)).data
    assert titles(data) == ["Của phòng A"]
    # Unit staff do not get the statistics of every unit (the report's readers do).
    assert load(data).sheetnames == ["Hoạt động"]
    # Asking for another unit's entries by filter gives nothing.
    unit_b = f"?don_vi={world.unit_b.id}"
    assert titles(client.get(xlsx_url(world.campaign, unit_b)).data) == []
    rows = csv_rows(client.get(csv_url(world.campaign, unit_b)).data)
    assert rows == [HEADERS]
    # Nobody else sees a draft; its author does.
    assert "Nháp B" not in titles(login(world.office).get(xlsx_url(world.campaign)).data)
    assert "Nháp B" in titles(login(world.staff_b).get(xlsx_url(world.campaign)).data)


def test_login_required_and_draft_campaign_is_not_found(world, client, login):
    for url in (xlsx_url(world.campaign), csv_url(world.campaign)):
        response = client.get(url)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]
    world.campaign.status = "draft"
    db.session.commit()
    staff = login(world.office)
    assert staff.get(xlsx_url(world.campaign)).status_code == 404
    assert staff.get(csv_url(world.campaign)).status_code == 404
    admin = login(world.admin)
    assert admin.get(xlsx_url(world.campaign)).status_code == 200
    assert admin.get("/ke-hoach/999999/xuat/hoat-dong.csv").status_code == 404


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_bom_diacritics_nfc_crlf_and_formula_injection(world, login):
    entry = submit(world, world.staff_a, title="Hội nghị", amount_vnd=12_345_678)
    hostile = approve(world, world.staff_a, world.head_a, title="Tạm", amount_vnd=None)
    db.session.commit()
    # Stored as pasted (older rows, imports): NFD, a control character, a formula.
    entry.title = unicodedata.normalize("NFD", "Tuyên truyền dân vận khéo")
    entry.place = "Hội\x0btrường"
    hostile.title = '=HYPERLINK("http://x.example","bấm")'
    hostile.place = "+84 226"
    hostile.activity_form = "@SUM(1)"
    hostile.result = "-1"
    db.session.commit()
    response = login(world.office).get(csv_url(world.campaign))
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert 'filename="hoat-dong-2023.csv"' in response.headers["Content-Disposition"]
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = csv_rows(data)
    assert rows[0] == HEADERS
    by_title = {r[COL["Tên hoạt động"]]: r for r in rows[1:]}
    nice = by_title["Tuyên truyền dân vận khéo"]  # NFC (the NFD key would not match)
    assert unicodedata.is_normalized("NFC", data[3:].decode("utf-8"))
    assert nice[COL["Địa điểm"]] == "Hộitrường"
    assert nice[COL["Từ ngày"]] == "12/10/2023" and nice[COL["Kinh phí (đồng)"]] == "12345678"
    assert nice[COL["Tổng người tham gia"]] == "55" and nice[COL["STT"]] in {"1", "2"}
    assert nice[COL["Trạng thái"]] == "Chờ Trưởng phòng duyệt"
    bad = by_title['\'=HYPERLINK("http://x.example","bấm")']
    assert bad[COL["Địa điểm"]] == "'+84 226" and bad[COL["Hình thức"]] == "'@SUM(1)"
    assert bad[COL["Kết quả"]] == "'-1" and bad[COL["Kinh phí (đồng)"]] == ""
    # The workbook keeps the same texts as typed strings, never formulas, NFC, no controls.
    ws = load(login(world.office).get(xlsx_url(world.campaign)).data)["Hoạt động"]
    cells = {row[COL["Tên hoạt động"]].value: row for row in ws.iter_rows(min_row=2)}
    formula = cells['=HYPERLINK("http://x.example","bấm")'][COL["Tên hoạt động"]]
    assert formula.data_type == "s"
    assert cells["Tuyên truyền dân vận khéo"][COL["Địa điểm"]].value == "Hộitrường"


# --- Queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_exports_run_a_constant_number_of_queries(world, login, count_queries, kind):
    client = login(world.office)
    url = (xlsx_url if kind == "xlsx" else csv_url)(world.campaign)

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            author, head = (world.staff_a, world.head_a) if i % 2 else (world.staff_b, world.head_b)
            approve(world, author, head, title=f"Hoạt động {i}")
        db.session.commit()

    add(2, 0)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    add(60, 2)
    with count_queries() as many:
        data = client.get(url).data
    assert (len(titles(data)) if kind == "xlsx" else len(csv_rows(data)) - 1) == 62
    assert many.n == few.n, (few.n, many.n)


# --- The command line --------------------------------------------------------------------------


def test_cli_export_xlsx_writes_the_web_workbook(dept, app, login, tmp_path):
    out = tmp_path / "ra" / "hoat-dong-2023.xlsx"
    result = app.test_cli_runner().invoke(
        args=["danvan", "export-xlsx", "--year", "2023", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Đã ghi" in result.output
    web = load(login(dept.office).get(xlsx_url(dept.campaign)).data)
    cli = load(out.read_bytes())
    assert cli.sheetnames == web.sheetnames
    for name in web.sheetnames:
        assert list(cli[name].values) == list(web[name].values)
    by_id = app.test_cli_runner().invoke(
        args=["danvan", "export-xlsx", "--campaign", str(dept.campaign.id), "--out", str(out)]
    )
    assert by_id.exit_code == 0, by_id.output


def test_cli_export_xlsx_errors_in_vietnamese(world, app, tmp_path):
    runner = app.test_cli_runner()
    out = str(tmp_path / "x.xlsx")
    result = runner.invoke(args=["danvan", "export-xlsx", "--year", "2099", "--out", out])
    assert result.exit_code != 0 and "Không có kế hoạch năm 2099." in result.output
    result = runner.invoke(args=["danvan", "export-xlsx", "--out", out])
    assert result.exit_code != 0 and "--year" in result.output
    result = runner.invoke(
        args=["danvan", "export-xlsx", "--campaign", str(world.campaign.id), "--year", "2024"]
        + ["--out", out]
    )
    assert result.exit_code != 0 and "Không có kế hoạch mã" in result.output
    assert not os.path.exists(out)


# --- An issued report: the spreadsheet and the signed document never disagree -----------------


def appendix_of(docx_bytes: bytes) -> list[list[str]]:
    """The rows of the archived .docx's appendix table (TT | Đơn vị | …), headings first."""
    document = docx.Document(io.BytesIO(docx_bytes))
    for table in document.tables:
        rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
        if rows and tuple(rows[0]) == APPENDIX_HEADINGS:
            return rows
    raise AssertionError("no appendix table")


def as_sheet_values(row: list[str]) -> list:
    """An appendix row as the sheet stores it: figures as ints ("1.234.500" → 1234500)."""
    values: list = [int(row[0]) if row[0] else None, row[1]]
    for field, text in zip(workbook.STAT_FIELDS, row[2:], strict=True):
        values.append((text or None) if field == "gifts" else int(text.replace(".", "")))
    return values


def stat_rows(data: bytes) -> list[list]:
    ws = load(data)[workbook.STATISTICS_SHEET]
    rows = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[1] is None:
            break
        rows.append(list(row))
    return rows


def test_issued_report_statistics_equal_the_archived_appendix(dept, app, login):
    approve(dept, dept.staff_b, dept.head_b, title="Thăm hỏi", participants_citizens=321)
    db.session.commit()
    report, archived = signed_report(dept, app, issue=True)
    # Approved after the issue: in no signed document, so not in its figures.
    approve(dept, dept.staff_a, dept.head_a, title="Muộn", amount_vnd=7_000_000)
    db.session.commit()
    appendix = appendix_of(db.session.get(Blob, archived.docx_sha256).data)
    data = login(dept.office).get(xlsx_url(dept.campaign)).data
    rows = stat_rows(data)
    assert rows == [as_sheet_values(r) for r in appendix[1:]]
    assert rows[-1][1] == "Tổng cộng" and rows[-1][2] == 4
    ws = load(data)[workbook.STATISTICS_SHEET]
    note = ws.cell(row=len(rows) + 3, column=1).value
    assert f"Báo cáo số {report.number_symbol} ngày 03/11/2023 (đã phát hành)" in note
    # The entries sheet still lists every entry, the late one included.
    assert "Muộn" in titles(data)

    # A supplementary report: the sheet counts both documents, the sum of their appendices.
    supplement, archived2 = signed_report(dept, app, issue=True, supplement=True)
    second = appendix_of(db.session.get(Blob, archived2.docx_sha256).data)
    expected = [as_sheet_values(r) for r in appendix[1:]]
    for mine, theirs in zip(expected, [as_sheet_values(r) for r in second[1:]], strict=True):
        for i, value in enumerate(theirs):
            if i >= 2 and isinstance(value, int):
                mine[i] += value
    rows = stat_rows(login(dept.office).get(xlsx_url(dept.campaign)).data)
    assert rows == expected
    assert rows[-1][2] == 5 and rows[-1][7] == 4 * 1_234_500 + 7_000_000
    assert supplement.number_symbol != report.number_symbol


def test_report_units_match_the_report_pipeline(dept):
    campaign = db.session.get(Campaign, dept.campaign.id)
    assert workbook._report_units(campaign) == report_ops._units(campaign)


# --- LibreOffice Calc reads the same figures as the page ---------------------------------------


def calc_available() -> bool:
    """soffice with its spreadsheet module (libreoffice-calc)."""
    if not libreoffice_available():
        return False
    program = Path(os.path.realpath(subprocess.getoutput("command -v soffice"))).parent
    return any(program.glob("libsclo.so")) or any(program.glob("libsc*lo.so"))


def calc_to_csv(xlsx: bytes, work: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as LibreOffice Calc shows it (formatted), by sheet name."""
    src = work / "bang.xlsx"
    src.write_bytes(xlsx)
    out = work / "out"
    # Tokens: "," separator, '"' quote, UTF-8, line 1, -, language, no quoting of all text,
    # -, cells as shown (formatted), no formulas, -, every sheet (LibreOffice ≥ 7.2).
    options = "44,34,76,1,,0,false,true,true,false,false,-1"
    proc = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            f"csv:Text - txt - csv (StarCalc):{options}",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        timeout=180,
        env=dict(os.environ, HOME=str(work)),
        cwd=work,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    sheets = {}
    for path in out.glob("bang-*.csv"):
        name = unicodedata.normalize("NFC", path.stem.removeprefix("bang-"))
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
        sheets[name] = list(csv.reader(io.StringIO(text, newline="")))
    return sheets


def test_libreoffice_calc_shows_the_figures_of_the_pages(dept, login, tmp_path):
    require(calc_available(), "LibreOffice Calc (libreoffice-calc-nogui)")
    approve(
        dept,
        dept.staff_b,
        dept.head_b,
        title="Thăm hỏi hộ nghèo",
        date_from=date(2023, 10, 16),
        date_to=date(2023, 10, 18),
        participants_citizens=1200,
        amount_vnd=25_000_000,
    )
    db.session.commit()
    client = login(dept.office)
    sheets = calc_to_csv(client.get(xlsx_url(dept.campaign)).data, tmp_path)
    assert set(sheets) == {"Hoạt động", "Thống kê theo đơn vị"}
    entries = sheets["Hoạt động"]
    assert entries[0] == HEADERS
    page = client.get(f"/hoat-dong?ke_hoach={dept.campaign.id}").get_data(as_text=True)
    body = page.split('id="entries-table"', 1)[1].split("</table>", 1)[0]
    listed = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        listed.append(cells)
    listed = [[html.unescape(c) for c in cells] for cells in listed]
    # Page columns: # | Tên hoạt động | Đơn vị | Thời gian | Người tham gia | Kinh phí | Trạng thái
    shown = [
        [
            r[COL["Tên hoạt động"]],
            r[COL["Đơn vị"]],
            r[COL["Từ ngày"]]
            if r[COL["Từ ngày"]] == r[COL["Đến ngày"]]
            else f"{r[COL['Từ ngày']]} - {r[COL['Đến ngày']]}",
            r[COL["Tổng người tham gia"]],
            r[COL["Kinh phí (đồng)"]],
        ]
        for r in entries[1:]
    ]
    assert shown == [cells[1:6] for cells in listed]
    assert [
        "Thăm hỏi hộ nghèo",
        "Thanh tra Sở",
        "16/10/2023 - 18/10/2023",
        "1.240",
        "25.000.000",
    ] in (shown)
    # The statistics as Calc shows them: the Vietnamese display of the same totals.
    stats = sheets["Thống kê theo đơn vị"]
    assert tuple(stats[0]) == APPENDIX_HEADINGS
    total = next(r for r in stats if r[1] == "Tổng cộng")
    assert total[2:8] == ["4", "4", "160", "1.245", "1.405", "28.703.500"]
    # The campaign page's unit table counts the same entries (all approved here) per unit.
    campaign_page = client.get(f"/ke-hoach/{dept.campaign.id}").get_data(as_text=True)
    table = campaign_page.split('id="unit-counts"', 1)[1].split("</tbody>", 1)[0]
    page_totals = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        page_totals[cells[0]] = 0 if cells[-1] == "—" else int(cells[-1])
    assert page_totals == {r[1]: int(r[2]) for r in stats[1:] if r[1] and r[1] != "Tổng cộng"}
