"""Check a rendered BÁO CÁO (.docx) against the NĐ 30/2020 Phụ lục I rules before it is signed.

Each rule of ../shared/docs/nd30-format.md §1–§6 that the .docx itself can show is read back from
the XML (page size and margins, fonts and sizes per part, the two-column header, Số and ký hiệu,
the place-date line, the title, the signer block, Nơi nhận, page numbers); every deviation is
named in Vietnamese with the part it concerns. Effective run formatting follows Word's order:
the run's own properties, then its paragraph's style (and that style's parents), then the
document defaults.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R_NS}
FONT = "Times New Roman"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
A4 = (11906, 16838)  # twips
MM = 1440 / 25.4  # twips per millimetre
MARGINS_MM = {"top": (20, 25), "bottom": (20, 25), "left": (30, 35), "right": (15, 20)}
MARGIN_NAMES = {"top": "trên", "bottom": "dưới", "left": "trái", "right": "phải"}
_NUMBER = re.compile(r"Số: (?P<number>\S*)/(?P<symbol>\S+)")
_BLANK_NUMBER = re.compile(r"Số:\s+/(?P<symbol>\S+)")
_SYMBOL = re.compile(r"[A-ZĐ][A-Za-zĐđ]*(-[A-ZĐ0-9]+)+")
_DATE_LINE = re.compile(
    r"(?P<place>[^,]+), ngày (?P<day>\S+) tháng (?P<month>\S+) năm (?P<year>\d{4})"
)
_BLANK_DATE_LINE = re.compile(r"[^,]+, ngày\s+tháng\s+năm \d{4}")
_NUMERIC_DATE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}")


@dataclass(frozen=True)
class Deviation:
    """One departure from NĐ 30/2020 Phụ lục I: the part of the document and what is wrong."""

    part: str
    message: str


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


def _text(el) -> str:
    return "".join(t.text or "" for t in el.iter(_w("t"))).strip()


def _on(el) -> bool | None:
    """A toggle property (w:b, w:i): None when absent, else its value."""
    if el is None:
        return None
    return el.get(_w("val"), "true") not in ("false", "0", "off")


class _Styles:
    """Paragraph styles and document defaults, for the effective size/bold/italic of a run."""

    def __init__(self, styles_xml) -> None:
        self.by_id = {}
        self.defaults = None
        if styles_xml is None:
            return
        for style in styles_xml.findall("w:style", NS):
            self.by_id[style.get(_w("styleId"))] = style
        self.defaults = styles_xml.find("w:docDefaults/w:rPrDefault/w:rPr", NS)

    def _chain(self, style_id: str | None):
        seen = set()
        while style_id and style_id not in seen and style_id in self.by_id:
            seen.add(style_id)
            style = self.by_id[style_id]
            yield style.find("w:rPr", NS)
            based = style.find("w:basedOn", NS)
            style_id = based.get(_w("val")) if based is not None else None

    def lookup(self, rpr, style_id: str | None, tag: str):
        for props in [rpr, *self._chain(style_id), self.defaults]:
            if props is not None and props.find(f"w:{tag}", NS) is not None:
                return props.find(f"w:{tag}", NS)
        return None


@dataclass(frozen=True)
class _Format:
    size: float | None
    bold: bool
    italic: bool


class _Document:
    def __init__(self, docx: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(docx))
        self.doc = self._xml("word/document.xml")
        self.body = self.doc.find("w:body", NS)
        styles = self._xml("word/styles.xml") if "word/styles.xml" in self.names else None
        self.styles = _Styles(styles)
        self.styles_xml = styles
        rels = self._xml("word/_rels/document.xml.rels")
        self.targets = {r.get("Id"): r.get("Target") for r in rels}

    @property
    def names(self) -> list[str]:
        return self.zip.namelist()

    def _xml(self, name: str):
        return etree.fromstring(self.zip.read(name))

    def header(self, sect_pr, kind: str):
        ref = sect_pr.find(f"w:headerReference[@w:type='{kind}']", NS)
        if ref is None:
            return None
        target = self.targets.get(ref.get(f"{{{R_NS}}}id"))
        return self._xml("word/" + target) if target else None

    def fmt(self, p) -> _Format:
        """Effective formatting of the first run with text in paragraph ``p``."""
        style = p.find("w:pPr/w:pStyle", NS)
        style_id = style.get(_w("val")) if style is not None else None
        run = next((r for r in p.findall(".//w:r", NS) if _text(r)), None)
        rpr = run.find("w:rPr", NS) if run is not None else None
        size = self.styles.lookup(rpr, style_id, "sz")
        return _Format(
            size=int(size.get(_w("val"))) / 2 if size is not None else None,
            bold=bool(_on(self.styles.lookup(rpr, style_id, "b"))),
            italic=bool(_on(self.styles.lookup(rpr, style_id, "i"))),
        )

    def centred(self, p) -> bool:
        jc = p.find("w:pPr/w:jc", NS)
        return jc is not None and jc.get(_w("val")) == "center"


def _paragraphs(cell) -> list:
    return [p for p in cell.findall("w:p", NS) if _text(p)]


def _size_text(size: float | None) -> str:
    return "không rõ" if size is None else f"{size:g}"


def _check_format(
    doc: _Document,
    p,
    part: str,
    sizes: tuple[float, float],
    *,
    bold: bool | None = None,
    italic: bool | None = None,
) -> list[Deviation]:
    fmt = doc.fmt(p)
    out = []
    low, high = sizes
    if fmt.size is None or not low <= fmt.size <= high:
        wanted = f"{low:g}" if low == high else f"{low:g}–{high:g}"
        out.append(Deviation(part, f"Cỡ chữ {_size_text(fmt.size)}, quy định là {wanted}."))
    if bold is not None and fmt.bold != bold:
        out.append(Deviation(part, "Phải in đậm." if bold else "Không được in đậm."))
    if italic is not None and fmt.italic != italic:
        out.append(Deviation(part, "Phải in nghiêng." if italic else "Phải viết đứng."))
    return out


def _check_page(doc: _Document) -> list[Deviation]:
    out = []
    sections = doc.body.findall(".//w:sectPr", NS)
    if not sections:
        return [Deviation("Trang giấy", "Không đọc được thiết lập trang của văn bản.")]
    for index, sect in enumerate(sections, start=1):
        where = "Trang giấy" if len(sections) == 1 else f"Trang giấy (phần {index})"
        size = sect.find("w:pgSz", NS)
        w = int(size.get(_w("w"), 0)) if size is not None else 0
        h = int(size.get(_w("h"), 0)) if size is not None else 0
        orient = size.get(_w("orient")) if size is not None else None
        if sorted((w, h)) != sorted(A4) and not (abs(w - A4[0]) <= 20 and abs(h - A4[1]) <= 20):
            out.append(
                Deviation(where, f"Khổ giấy {w / MM:.0f} × {h / MM:.0f} mm, quy định là A4.")
            )
        elif orient == "landscape" or w > h:
            out.append(Deviation(where, "Trang nằm ngang; văn bản trình bày theo chiều dài A4."))
        margins = sect.find("w:pgMar", NS)
        for key, (low, high) in MARGINS_MM.items():
            value = int(margins.get(_w(key), 0)) if margins is not None else 0
            mm = abs(value) / MM
            if not low - 0.5 <= mm <= high + 0.5:
                out.append(
                    Deviation(
                        where,
                        f"Lề {MARGIN_NAMES[key]} {mm:.0f} mm, quy định là {low}–{high} mm.",
                    )
                )
    return out


def _check_fonts(doc: _Document) -> list[Deviation]:
    wrong: set[str] = set()
    parts = [
        n for n in doc.names if re.fullmatch(r"word/(document|styles|header\d+|footer\d+)\.xml", n)
    ]
    for name in parts:
        root = doc._xml(name)
        for fonts in root.iter(_w("rFonts")):
            for attr in ("ascii", "hAnsi"):
                value = fonts.get(_w(attr))
                if value and value != FONT:
                    wrong.add(value)
            if fonts.get(_w("asciiTheme")) or fonts.get(_w("hAnsiTheme")):
                wrong.add("phông chủ đề (theme)")
    out = []
    if wrong:
        out.append(
            Deviation(
                "Phông chữ",
                f"Dùng phông {', '.join(sorted(wrong))}; quy định là {FONT} "
                "(Unicode TCVN 6909:2001).",
            )
        )
    colours = {
        c.get(_w("val")).upper()
        for c in doc.doc.iter(_w("color"))
        if c.get(_w("val")) not in (None, "auto")
    }
    if colours - {"000000"}:
        out.append(Deviation("Phông chữ", "Có chữ không phải màu đen."))
    return out


def _check_header(doc: _Document, *, final: bool) -> list[Deviation]:
    tables = doc.body.findall("w:tbl", NS)
    if not tables:
        return [Deviation("Phần đầu văn bản", "Thiếu bảng hai cột: tên cơ quan và Quốc hiệu.")]
    rows = tables[0].findall("w:tr", NS)
    cells = [row.findall("w:tc", NS) for row in rows]
    if not cells or len(cells[0]) != 2:
        return [Deviation("Phần đầu văn bản", "Phần đầu phải là bảng hai cột.")]
    out = []
    left, right = (_paragraphs(c) for c in cells[0])
    if len(left) < 2:
        out.append(
            Deviation("Tên cơ quan", "Thiếu tên cơ quan chủ quản hoặc tên cơ quan ban hành.")
        )
    else:
        parent, agency = left[0], left[1]
        for p, part, bold in (
            (parent, "Tên cơ quan chủ quản", False),
            (agency, "Tên cơ quan ban hành", True),
        ):
            if _text(p) != _text(p).upper():
                out.append(Deviation(part, "Phải viết in hoa."))
            out += _check_format(doc, p, part, (12, 13), bold=bold)
    texts = [_text(p) for p in right]
    if NATION not in texts:
        out.append(Deviation("Quốc hiệu", f"Thiếu dòng “{NATION}”."))
    else:
        out += _check_format(doc, right[texts.index(NATION)], "Quốc hiệu", (12, 13), bold=True)
    if MOTTO not in texts:
        out.append(Deviation("Tiêu ngữ", f"Thiếu hoặc viết sai dòng “{MOTTO}”."))
    else:
        out += _check_format(doc, right[texts.index(MOTTO)], "Tiêu ngữ", (13, 14), bold=True)
    number_cell = cells[1][0] if len(cells) > 1 and cells[1] else None
    date_cell = cells[1][1] if len(cells) > 1 and len(cells[1]) > 1 else None
    out += _check_number(doc, number_cell, final=final)
    out += _check_date_line(doc, date_cell, final=final)
    return out


def _check_number(doc: _Document, cell, *, final: bool) -> list[Deviation]:
    part = "Số, ký hiệu"
    paragraphs = _paragraphs(cell) if cell is not None else []
    if not paragraphs:
        return [Deviation(part, "Thiếu dòng “Số: …/…” dưới tên cơ quan ban hành.")]
    p = paragraphs[0]
    line = re.sub(r"[ \u00a0]+", " ", _text(p)) if final else _text(p)
    out = []
    blank = _BLANK_NUMBER.fullmatch(_text(p))
    match = _NUMBER.fullmatch(line)
    if not final and blank:
        symbol = blank.group("symbol")
    elif match is None:
        return [
            Deviation(
                part,
                f"“{_text(p)}” không đúng dạng “Số: 05/BC-SXD” (số, dấu “/”, rồi ký hiệu).",
            )
        ]
    else:
        number, symbol = match.group("number"), match.group("symbol")
        if not number.isdigit():
            out.append(Deviation(part, f"Số “{number}” phải là chữ số Ả Rập."))
        elif int(number) < 10 and len(number) < 2:
            out.append(
                Deviation(part, f"Số nhỏ hơn 10 phải có số 0 phía trước: “{int(number):02d}”.")
            )
    if not _SYMBOL.fullmatch(symbol):
        out.append(
            Deviation(
                part,
                f"Ký hiệu “{symbol}” phải viết in hoa, các nhóm chữ nối bằng “-” không cách "
                "(ví dụ BC-SXD).",
            )
        )
    out += _check_format(doc, p, part, (13, 13), italic=False)
    return out


def _check_date_line(doc: _Document, cell, *, final: bool) -> list[Deviation]:
    part = "Địa danh, ngày tháng"
    paragraphs = _paragraphs(cell) if cell is not None else []
    if not paragraphs:
        return [Deviation(part, "Thiếu dòng địa danh và ngày tháng năm ban hành.")]
    p = paragraphs[0]
    line = _text(p)
    out = _check_format(doc, p, part, (13, 14), italic=True)
    place = line.split(",", 1)[0].strip() if "," in line else ""
    if place and not all(word[:1].isupper() for word in place.split()):
        out.insert(0, Deviation(part, f"Địa danh “{place}” phải viết hoa chữ cái đầu mỗi tiếng."))
    if not final and _BLANK_DATE_LINE.fullmatch(line):
        return out
    if _NUMERIC_DATE.search(line):
        return [
            Deviation(
                part,
                f"“{line}”: ngày tháng phải viết đầy đủ “ngày … tháng … năm …”, "
                "không viết dạng số như 03/11/2023.",
            ),
            *out,
        ]
    match = _DATE_LINE.fullmatch(line)
    if match is None:
        return [
            Deviation(part, f"“{line}” không đúng dạng “Hà Nam, ngày 05 tháng 11 năm 2023”."),
            *out,
        ]
    day, month = match.group("day"), match.group("month")
    if not (day.isdigit() and month.isdigit() and 1 <= int(day) <= 31 and 1 <= int(month) <= 12):
        return [Deviation(part, f"Ngày “{day}” hoặc tháng “{month}” không hợp lệ."), *out]
    if int(day) < 10 and len(day) < 2:
        out.insert(
            0, Deviation(part, f"Ngày nhỏ hơn 10 phải có số 0 phía trước: “{int(day):02d}”.")
        )
    wanted_month = f"{int(month):02d}" if int(month) <= 2 else str(int(month))
    if month != wanted_month:
        out.insert(
            0,
            Deviation(
                part,
                f"Tháng viết “{month}”, quy định là “{wanted_month}” (chỉ tháng 1, 2 thêm số 0).",
            ),
        )
    return out


def _after_header(doc: _Document) -> list:
    children = list(doc.body)
    tables = doc.body.findall("w:tbl", NS)
    start = children.index(tables[0]) + 1 if tables else 0
    return [c for c in children[start:] if c.tag == _w("p") and _text(c)]


def _check_title(doc: _Document) -> list[Deviation]:
    paragraphs = _after_header(doc)
    if len(paragraphs) < 2:
        return [Deviation("Tên loại, trích yếu", "Thiếu tên loại văn bản và trích yếu nội dung.")]
    title, subject = paragraphs[0], paragraphs[1]
    out = []
    if _text(title) != "BÁO CÁO":
        out.append(
            Deviation(
                "Tên loại văn bản", f"Dòng đầu sau phần đầu là “{_text(title)}”, cần “BÁO CÁO”."
            )
        )
    out += _check_format(doc, title, "Tên loại văn bản", (13, 14), bold=True)
    if not doc.centred(title):
        out.append(Deviation("Tên loại văn bản", "Phải căn giữa."))
    out += _check_format(doc, subject, "Trích yếu", (13, 14), bold=True)
    if not doc.centred(subject):
        out.append(Deviation("Trích yếu", "Phải căn giữa."))
    return out


def _signature_table(doc: _Document):
    """The Nơi nhận / signer table: the table whose left cell starts with "Nơi nhận"."""
    tables = doc.body.findall("w:tbl", NS)[1:]
    for table in tables:
        first = table.find("w:tr", NS)
        cells = first.findall("w:tc", NS) if first is not None else []
        if len(cells) == 2 and _text(cells[0]).startswith("Nơi nhận"):
            return cells
    for table in tables:  # no Nơi nhận: the first two-column table after the header
        first = table.find("w:tr", NS)
        cells = first.findall("w:tc", NS) if first is not None else []
        if len(cells) == 2:
            return cells
    return None


def _check_recipients(doc: _Document, left) -> list[Deviation]:
    part = "Nơi nhận"
    paragraphs = _paragraphs(left) if left is not None else []
    if not paragraphs or _text(paragraphs[0]) != "Nơi nhận:":
        return [Deviation(part, "Thiếu phần “Nơi nhận:” bên trái, ngang hàng chức vụ người ký.")]
    head, *lines = paragraphs
    out = _check_format(doc, head, part, (12, 12), bold=True, italic=True)
    if not lines:
        return [*out, Deviation(part, "Chưa ghi nơi nhận nào.")]
    for p in lines:
        line = _text(p)
        if not line.startswith("- "):
            out.append(Deviation(part, f"“{line}”: mỗi nơi nhận bắt đầu bằng “- ”."))
    for p in lines[:-1]:
        if not _text(p).endswith(";"):
            out.append(Deviation(part, f"“{_text(p)}”: mỗi nơi nhận kết thúc bằng “;”."))
    last = _text(lines[-1])
    if not last.startswith("- Lưu: VT"):
        out.append(Deviation(part, "Dòng cuối phải là “- Lưu: VT, …” (bản lưu ở Văn thư)."))
    elif not last.endswith("."):
        out.append(Deviation(part, f"“{last}”: dòng cuối kết thúc bằng dấu chấm."))
    sizes = {doc.fmt(p).size for p in lines}
    if sizes != {11}:
        shown = ", ".join(_size_text(s) for s in sorted(sizes, key=lambda s: s or 0))
        out.append(Deviation(part, f"Các dòng nơi nhận cỡ chữ {shown}, quy định là 11."))
    return out


def _check_signer(doc: _Document, right, *, final: bool) -> list[Deviation]:
    part = "Chữ ký"
    paragraphs = _paragraphs(right) if right is not None else []
    if not paragraphs:
        return [Deviation(part, "Thiếu quyền hạn, chức vụ và họ tên người ký.")]
    title = paragraphs[0]
    out = []
    if _text(title) != _text(title).upper():
        out.append(Deviation(part, f"“{_text(title)}”: quyền hạn, chức vụ phải viết in hoa."))
    out += _check_format(doc, title, "Quyền hạn, chức vụ người ký", (13, 14), bold=True)
    if _text(title).startswith("KT.") and len(paragraphs) < 3:
        out.append(Deviation(part, "Ký thay (KT.) phải có dòng chức vụ của người ký thay."))
    if final:
        if len(paragraphs) < 2:
            return [*out, Deviation(part, "Thiếu họ tên người ký.")]
        name = paragraphs[-1]
        if _text(name) == _text(name).upper():
            out.append(Deviation(part, f"“{_text(name)}”: họ tên viết in thường, không in hoa."))
        out += _check_format(doc, name, "Họ tên người ký", (13, 14), bold=True)
    for p in paragraphs:
        if not doc.centred(p):
            out.append(Deviation(part, f"“{_text(p)}” phải căn giữa khối chữ ký."))
            break
    return out


def _has_page_field(p) -> bool:
    codes = [i.text or "" for i in p.iter(_w("instrText"))]
    codes += [f.get(_w("instr"), "") for f in p.iter(_w("fldSimple"))]
    return any(re.search(r"\bPAGE\b", code) for code in codes)


def _check_page_numbers(doc: _Document) -> list[Deviation]:
    part = "Số trang"
    sect = doc.body.find(".//w:sectPr", NS)
    if sect is None:
        return []
    out = []
    if sect.find("w:titlePg", NS) is None:
        out.append(Deviation(part, "Trang 1 không được đánh số (cần “trang đầu khác”)."))
    default = doc.header(sect, "default")
    numbered = (
        [p for p in default.iter(_w("p")) if _has_page_field(p)] if default is not None else []
    )
    if not numbered:
        out.append(Deviation(part, "Thiếu số trang ở giữa lề trên (từ trang 2)."))
    elif not doc.centred(numbered[0]):
        out.append(Deviation(part, "Số trang phải căn giữa lề trên."))
    first = doc.header(sect, "first")
    if first is not None and any(_has_page_field(p) for p in first.iter(_w("p"))):
        out.append(Deviation(part, "Trang 1 không được hiện số trang."))
    return out


def check_report_docx(docx: bytes, *, final: bool = True) -> list[Deviation]:
    """Every deviation of the .docx from NĐ 30/2020 Phụ lục I (empty: none found).

    ``final`` is the document about to be signed (number, date and signer's name filled in); a
    draft may leave "Số:      /BC-SXD" and the date blank."""
    try:
        doc = _Document(docx)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError):
        return [Deviation("Tệp văn bản", "Không đọc được tệp .docx.")]
    out = _check_page(doc) + _check_fonts(doc) + _check_header(doc, final=final)
    out += _check_title(doc)
    cells = _signature_table(doc)
    if cells is None:
        out.append(Deviation("Nơi nhận", "Thiếu phần “Nơi nhận:” và khối chữ ký."))
    else:
        out += _check_recipients(doc, cells[0]) + _check_signer(doc, cells[1], final=final)
    out += _check_page_numbers(doc)
    return out
