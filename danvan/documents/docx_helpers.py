"""Low-level python-docx helpers for NĐ 30/2020 documents: fonts, paragraphs, tables, saving."""

from __future__ import annotations

import copy
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.section import Section
from docx.shared import Emu, Mm
from docx.table import Table

from danvan.documents.model import clean_text

FONT = "Times New Roman"
LANG = "vi-VN"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FONT_ATTRS = ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia")
_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme")
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"

# Advance widths (1/1000 em) of Times New Roman Bold; used only to size the short rules.
_BOLD_WIDTHS = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -,.()/:;",
        (500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833, 556, 500, 556, 556,
         444, 389, 333, 556, 500, 722, 500, 500, 444, 722, 667, 722, 722, 667, 611, 778, 778,
         389, 500, 778, 667, 944, 722, 778, 611, 778, 722, 556, 667, 722, 722, 1000, 722, 722,
         667) + (500,) * 10 + (250, 333, 250, 250, 333, 333, 278, 333, 333),
        strict=True,
    )
)  # fmt: skip


def twips(mm: float) -> int:
    """Millimetres to twentieths of a point."""
    return round(mm * 1440 / 25.4)


def text_width_mm(text: str, size_pt: float) -> float:
    """Estimate the printed width of bold Times New Roman text."""
    total = 0
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].replace("đ", "d").replace("Đ", "D")
        total += _BOLD_WIDTHS.get(base, 722 if base.isupper() else 500)
    return total / 1000 * size_pt * 25.4 / 72


@dataclass(frozen=True)
class RunFmt:
    """Character formatting of one run."""

    size: float = 14
    bold: bool = False
    italic: bool = False
    boxed: bool = False


@dataclass(frozen=True)
class ParaFmt:
    """Paragraph formatting; lengths in twips, `line` in 240ths of a line (lineRule auto)."""

    align: str = "both"
    first_line: int = 0
    before: int = 0
    after: int = 0
    line: int = 240
    left: int = 0
    right: int = 0
    keep_next: bool = False
    style_id: str | None = None
    bottom_border: bool = False
    exact_line: int | None = None  # exact line height in twips, overrides `line`


def _el(tag: str, **attrs: str) -> OxmlElement:
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def force_fonts(rpr) -> None:
    """Set all four rFonts attributes to Times New Roman and drop theme fonts."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in _FONT_ATTRS:
        rfonts.set(qn(attr), FONT)
    for attr in _THEME_ATTRS:
        rfonts.attrib.pop(qn(attr), None)


def _rpr(fmt: RunFmt):
    rpr = OxmlElement("w:rPr")
    force_fonts(rpr)
    if fmt.bold:
        rpr.append(_el("w:b"))
        rpr.append(_el("w:bCs"))
    if fmt.italic:
        rpr.append(_el("w:i"))
        rpr.append(_el("w:iCs"))
    rpr.append(_el("w:color", val="000000"))
    half_points = str(round(fmt.size * 2))
    rpr.append(_el("w:sz", val=half_points))
    rpr.append(_el("w:szCs", val=half_points))
    if fmt.boxed:
        rpr.append(_el("w:bdr", val="single", sz="12", space="1", color="000000"))
    return rpr


def _border(side: str, size: str = "6") -> OxmlElement:
    return _el(f"w:{side}", val="single", sz=size, space="1", color="000000")


def _ppr(fmt: ParaFmt, mark: RunFmt):
    ppr = OxmlElement("w:pPr")
    if fmt.style_id:
        ppr.append(_el("w:pStyle", val=fmt.style_id))
    if fmt.keep_next:
        ppr.append(_el("w:keepNext"))
    if fmt.bottom_border:
        bdr = OxmlElement("w:pBdr")
        bdr.append(_border("bottom"))
        ppr.append(bdr)
    if fmt.exact_line is not None:
        line, rule = str(fmt.exact_line), "exact"
    else:
        line, rule = str(fmt.line), "auto"
    ppr.append(
        _el("w:spacing", before=str(fmt.before), after=str(fmt.after), line=line, lineRule=rule)
    )
    ind = _el("w:ind", left=str(fmt.left), right=str(fmt.right), firstLine=str(fmt.first_line))
    ppr.append(ind)
    ppr.append(_el("w:jc", val=fmt.align))
    ppr.append(_rpr(mark))
    return ppr


class Writer:
    """Builds paragraphs from cached prototypes and appends them to the body in O(1) each."""

    def __init__(self, doc: DocumentObject) -> None:
        self.doc = doc
        self.anchor = doc.element.body.sectPr
        self._ppr: dict[tuple[ParaFmt, RunFmt], object] = {}
        self._rpr: dict[RunFmt, object] = {}

    def run(self, text: str, fmt: RunFmt):
        """Return a new w:r with cleaned text (tabs and newlines become w:tab / w:br)."""
        proto = self._rpr.get(fmt)
        if proto is None:
            proto = self._rpr[fmt] = _rpr(fmt)
        r = OxmlElement("w:r")
        r.append(copy.deepcopy(proto))
        text = clean_text(text)
        if text:
            r.text = text
        return r

    def para(self, fmt: ParaFmt, *runs: tuple[str, RunFmt], mark: RunFmt | None = None):
        """Return a new, unattached w:p with the given runs."""
        mark = mark or (runs[0][1] if runs else RunFmt())
        key = (fmt, mark)
        proto = self._ppr.get(key)
        if proto is None:
            proto = self._ppr[key] = _ppr(fmt, mark)
        p = OxmlElement("w:p")
        p.append(copy.deepcopy(proto))
        for text, run_fmt in runs:
            p.append(self.run(text, run_fmt))
        return p

    def add(self, element) -> None:
        """Append a block element (w:p or w:tbl) to the body, before the final sectPr."""
        self.anchor.addprevious(element)

    def add_para(self, fmt: ParaFmt, *runs: tuple[str, RunFmt], mark: RunFmt | None = None):
        """Create a paragraph and append it to the body."""
        p = self.para(fmt, *runs, mark=mark)
        self.add(p)
        return p

    def page_break(self) -> None:
        """Append a paragraph holding a page break."""
        p = self.para(ParaFmt(align="left"), mark=RunFmt())
        r = self.run("", RunFmt())
        r.append(_el("w:br", type="page"))
        p.append(r)
        self.add(p)

    def table(self, widths_mm: Sequence[float], rows: int, *, borders: bool) -> Table:
        """Append a fixed-layout table with gridCol and tcW both set."""
        tbl = CT_Tbl.new_tbl(rows, len(widths_mm), Emu(Mm(sum(widths_mm))))
        table = Table(tbl, self.doc._body)
        table.autofit = False
        tbl_pr = tbl.tblPr
        tbl_w = tbl_pr.find(qn("w:tblW"))
        tbl_w.set(qn("w:w"), str(sum(twips(w) for w in widths_mm)))
        tbl_w.set(qn("w:type"), "dxa")
        edges = OxmlElement("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            edges.append(_border(side, "4") if borders else _el(f"w:{side}", val="nil"))
        tbl_pr.insert_element_before(edges, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook")
        margins = OxmlElement("w:tblCellMar")
        for side in ("left", "right"):
            margins.append(_el(f"w:{side}", w="57", type="dxa"))
        tbl_pr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription")
        for grid_col, width in zip(tbl.tblGrid.gridCol_lst, widths_mm, strict=True):
            grid_col.w = Mm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
        self.add(tbl)
        return table


def fill_cell(tc, paragraphs: Iterable, v_center: bool = False) -> None:
    """Replace the paragraphs of a table cell (a w:tc element) with `paragraphs`."""
    for p in tc.findall(qn("w:p")):
        tc.remove(p)
    for p in paragraphs:
        tc.append(p)
    if v_center:
        tc.get_or_add_tcPr().append(_el("w:vAlign", val="center"))


def mark_header_row(tr) -> None:
    """Repeat a table row at the top of every page and keep it on one page."""
    tr_pr = tr.get_or_add_trPr()
    tr_pr.append(_el("w:cantSplit"))
    tr_pr.append(_el("w:tblHeader"))


def short_rule(writer: Writer, length_mm: float, box_mm: float, before: int = 0):
    """A centred solid line `length_mm` long: an empty paragraph with a bottom border."""
    side = twips(max(box_mm - length_mm, 0) / 2)
    fmt = ParaFmt(
        align="center", left=side, right=side, before=before, bottom_border=True, exact_line=100
    )
    return writer.para(fmt, mark=RunFmt(size=5))


def page_number_paragraph(writer: Writer, size: float = 14):
    """A centred paragraph holding a PAGE field."""
    fmt = RunFmt(size=size)
    p = writer.para(ParaFmt(align="center"), mark=fmt)
    parts = (("fldChar", "begin"), ("instrText", " PAGE "), ("fldChar", "separate"))
    for kind, value in parts:
        r = writer.run("", fmt)
        if kind == "fldChar":
            r.append(_el("w:fldChar", fldCharType=value))
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = value
            r.append(instr)
        p.append(r)
    p.append(writer.run("2", fmt))
    end = writer.run("", fmt)
    end.append(_el("w:fldChar", fldCharType="end"))
    p.append(end)
    return p


def setup_headers(writer: Writer, section: Section, first_page: Sequence = ()) -> None:
    """PAGE field centred in the top margin on every page but the first (w:titlePg)."""
    section.different_first_page_header_footer = True
    for header, paragraphs in (
        (section.header, [page_number_paragraph(writer)]),
        (section.first_page_header, list(first_page) or [writer.para(ParaFmt(align="center"))]),
    ):
        header.is_linked_to_previous = False
        element = header._element
        for child in list(element):
            element.remove(child)
        for p in paragraphs:
            element.append(p)


def new_document(*, landscape: bool = False) -> DocumentObject:
    """A blank A4 document with NĐ 30 margins and Times New Roman everywhere (styles included)."""
    doc = Document()
    _drop_extra_parts(doc)
    _setup_styles(doc)
    sect_pr = doc.sections[0]._sectPr
    pg_sz = sect_pr.get_or_add_pgSz()
    width, height = ("16838", "11906") if landscape else ("11906", "16838")
    pg_sz.set(qn("w:w"), width)
    pg_sz.set(qn("w:h"), height)
    if landscape:
        pg_sz.set(qn("w:orient"), "landscape")
    pg_mar = sect_pr.get_or_add_pgMar()
    margins = {
        "top": 1134,
        "right": 850,
        "bottom": 1134,
        "left": 1701,
        "header": 567,
        "footer": 567,
    }
    for attr, value in {**margins, "gutter": 0}.items():
        pg_mar.set(qn(f"w:{attr}"), str(value))
    return doc


def _drop_extra_parts(doc: DocumentObject) -> None:
    """Drop the template's thumbnail and Word 2010 stylesWithEffects (theme fonts) parts."""
    package_rels = doc.part.package.rels
    for rid, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package_rels[rid]
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype == _STYLES_WITH_EFFECTS:
            del doc.part.rels[rid]


def _setup_styles(doc: DocumentObject) -> None:
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for child in list(rpr):
        rpr.remove(child)
    force_fonts(rpr)
    rpr.append(_el("w:color", val="000000"))
    rpr.append(_el("w:sz", val="28"))
    rpr.append(_el("w:szCs", val="28"))
    rpr.append(_el("w:lang", val=LANG, eastAsia=LANG, bidi="ar-SA"))
    for rfonts in list(styles.iter(qn("w:rFonts"))):
        force_fonts(rfonts.getparent())
    for color in styles.iter(qn("w:color")):
        for attr in ("themeColor", "themeShade", "themeTint"):
            color.attrib.pop(qn(f"w:{attr}"), None)
        color.set(qn("w:val"), "000000")
    for style_id in ("Normal", "Heading1", "Heading2", "Heading3", "Title"):
        style = doc.styles.element.get_by_id(style_id)
        style_rpr = style.get_or_add_rPr()
        force_fonts(style_rpr)
        if style_id != "Normal":
            spacing = style.find(f"{qn('w:pPr')}/{qn('w:spacing')}")
            if spacing is not None:  # the template's 24 pt before a heading is far too much
                spacing.set(qn("w:before"), "120")
                spacing.set(qn("w:after"), "0")
            for tag in ("w:sz", "w:szCs"):
                el = style_rpr.find(qn(tag))
                if el is not None:
                    el.set(qn("w:val"), "28")


def save_deterministic(doc: DocumentObject, *, title: str, author: str, when: datetime) -> bytes:
    """Set fixed core properties and return the package with fixed zip timestamps and order."""
    props = doc.core_properties
    props.title = clean_text(title)[:255]
    props.author = props.last_modified_by = clean_text(author)
    props.comments = props.keywords = props.category = props.subject = ""
    props.language = LANG
    props.revision = 1
    props.created = props.modified = when
    raw = io.BytesIO()
    doc.save(raw)
    return normalise_zip(raw.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps/attributes and a stable entry order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        names = sorted(
            zin.namelist(), key=lambda n: (n != "[Content_Types].xml", n != "_rels/.rels", n)
        )
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in names:
                info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 0
                info.external_attr = 0
                zout.writestr(info, zin.read(name))
    return out.getvalue()
