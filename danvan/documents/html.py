"""The report as HTML for the web page, read from the very .docx that is downloaded and signed.

The .docx is rendered from the report model (``context.report_data`` → ``render_report_docx``);
this module does not lay out the report a second time, it reads the paragraphs, runs and tables
of that document and writes them as HTML, so the page cannot drift from the document: every
word of the .docx, section II included, appears on the page in the same order and emphasis.
Page layout (margins, page numbers, page breaks) is left to the PDF preview.
"""

from __future__ import annotations

import base64
import io
import posixpath
import zipfile
from collections.abc import Iterator

from lxml import etree
from markupsafe import Markup, escape

__all__ = ["docx_html"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DEFAULT_TEXT_TWIPS = 9355  # 165 mm: A4 less the NĐ30 margins, if the section does not say
ALIGN = {"center": "c", "both": "j", "distribute": "j", "right": "r", "end": "r"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
# Containers whose runs belong to the paragraph (tracked insertions, links, smart tags).
RUN_CONTAINERS = {f"{{{W}}}{t}" for t in ("hyperlink", "ins", "smartTag", "sdtContent", "sdt")}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _val(el, path: str, attr: str = "val") -> str | None:
    found = el.find(path) if el is not None else None
    return None if found is None else found.get(_w(attr))


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _on(rpr, tag: str) -> bool:
    """A toggle property (w:b, w:i) that is present and not switched off."""
    el = rpr.find(_w(tag)) if rpr is not None else None
    return el is not None and el.get(_w("val"), "true") not in ("0", "false", "off")


def _width_class(share: float) -> str:
    """A CSS width class in steps of 5 % (the page's CSP allows no inline styles)."""
    step = min(max(round(share * 20), 1), 20) * 5
    return f"dw-{step}"


class _Docx:
    """One .docx package: its parts, relationships and images."""

    def __init__(self, data: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(data))

    def xml(self, name: str):
        return etree.fromstring(self.zip.read(name))

    def rels(self, part: str) -> dict[str, str]:
        folder, base = posixpath.split(part)
        name = posixpath.join(folder, "_rels", f"{base}.rels")
        if name not in self.zip.namelist():
            return {}
        root = self.xml(name)
        return {
            rel.get("Id"): posixpath.normpath(posixpath.join(folder, rel.get("Target", "")))
            for rel in root.iter(f"{{{REL}}}Relationship")
            if rel.get("TargetMode") != "External"
        }


class _Writer:
    """Turns the WordprocessingML of one part into HTML strings."""

    def __init__(self, package: _Docx, part: str) -> None:
        self.package = package
        self.rels = package.rels(part)

    # -- blocks -------------------------------------------------------------------------------
    def blocks(self, parent, width: int) -> Iterator[str]:
        for child in parent:
            if child.tag == _w("p"):
                yield self.paragraph(child, width)
                if child.find(f"{_w('pPr')}/{_w('sectPr')}") is not None:
                    yield Markup('</div><div class="doc-page">')  # a new section: new page
            elif child.tag == _w("tbl"):
                yield self.table(child)

    def paragraph(self, p, width: int) -> str:
        ppr = p.find(_w("pPr"))
        classes = ["doc-p", f"doc-{ALIGN.get(_val(ppr, _w('jc')) or '', 'l')}"]
        ind = ppr.find(_w("ind")) if ppr is not None else None
        left = _int(ind.get(_w("left"))) if ind is not None else 0
        right = _int(ind.get(_w("right"))) if ind is not None else 0
        if ind is not None and _int(ind.get(_w("firstLine"))) > 0:
            classes.append("doc-indent")
        size = _half_points(ppr.find(_w("rPr")) if ppr is not None else None)
        if size and size <= 24:  # a small paragraph (Nơi nhận): its runs inherit the size
            classes.append(f"doc-s{size // 2}")
        content = Markup("").join(self.runs(p, size))
        bordered = ppr is not None and ppr.find(f"{_w('pBdr')}/{_w('bottom')}") is not None
        if bordered and not content.strip():  # a short centred rule (NĐ30 lines)
            share = max(width - left - right, 1) / max(width, 1)
            return Markup('<hr class="doc-rule {}">').format(_width_class(share))
        if not content:
            classes.append("doc-empty")
        return Markup('<p class="{}">{}</p>').format(" ".join(classes), content)

    def table(self, tbl) -> str:
        borders = tbl.find(f"{_w('tblPr')}/{_w('tblBorders')}")
        plain = borders is not None and all(
            edge.get(_w("val")) in ("nil", "none") for edge in borders
        )
        widths = [_int(col.get(_w("w"))) for col in tbl.iter(_w("gridCol"))]
        total = sum(widths) or 1
        out = [
            # tabindex: a wide table scrolls inside its box, so keyboards must reach it too.
            Markup(
                '<div class="doc-table-wrap" tabindex="0"><table class="doc-table {}"{}>'
            ).format(
                "doc-plain" if plain else "doc-grid",
                Markup(' role="presentation"') if plain else "",
            ),
            Markup("<colgroup>"),
            *(Markup('<col class="{}">').format(_width_class(w / total)) for w in widths),
            Markup("</colgroup>"),
        ]
        head, body = [], []
        for tr in tbl.findall(_w("tr")):
            is_head = not plain and tr.find(f"{_w('trPr')}/{_w('tblHeader')}") is not None
            cells = []
            for tc in tr.findall(_w("tc")):
                tcpr = tc.find(_w("tcPr"))
                span = _int(_val(tcpr, _w("gridSpan")), 1)
                width = _int(_val(tcpr, _w("tcW"), "w"), 0) or total
                inner = Markup("").join(self.blocks(tc, width))
                tag = "th" if is_head else "td"
                scope = Markup(' scope="col"') if is_head else ""
                colspan = Markup(' colspan="{}"').format(span) if span > 1 else ""
                cells.append(Markup("<{0}{1}{2}>{3}</{0}>").format(tag, scope, colspan, inner))
            row = Markup("<tr>{}</tr>").format(Markup("").join(cells))
            (head if is_head else body).append(row)
        if head:
            out += [Markup("<thead>"), *head, Markup("</thead>")]
        out += [Markup("<tbody>"), *body, Markup("</tbody></table></div>")]
        return Markup("").join(out)

    # -- inline -------------------------------------------------------------------------------
    def runs(self, parent, para_size: int = 0) -> Iterator[str]:
        for child in parent:
            if child.tag == _w("r"):
                yield self.run(child, para_size)
            elif child.tag in RUN_CONTAINERS:
                yield from self.runs(child, para_size)

    def run(self, r, para_size: int = 0) -> Markup:
        rpr = r.find(_w("rPr"))
        parts = []
        for child in r:
            if child.tag == _w("t"):
                parts.append(escape(child.text or ""))
            elif child.tag == _w("tab"):
                parts.append(Markup(" "))
            elif child.tag in (_w("br"), _w("cr")) and child.get(_w("type")) != "page":
                parts.append(Markup("<br>"))
            elif child.tag == _w("drawing"):
                parts.append(self.image(child))
        html = Markup("").join(parts)
        if not html:
            return Markup("")
        if rpr is not None and rpr.find(_w("bdr")) is not None:
            html = Markup('<span class="doc-boxed">{}</span>').format(html)
        if _on(rpr, "i"):
            html = Markup("<em>{}</em>").format(html)
        if _on(rpr, "b"):
            html = Markup("<strong>{}</strong>").format(html)
        size = _half_points(rpr)
        if size and size <= 24 and size != para_size:
            html = Markup('<span class="doc-s{}">{}</span>').format(size // 2, html)
        return html

    def image(self, drawing) -> str:
        """An embedded picture (the signer's signature in a signed .docx) as a data: URL."""
        blip = drawing.find(f".//{{{A}}}blip")
        target = self.rels.get(blip.get(f"{{{R}}}embed")) if blip is not None else None
        mime = IMAGE_TYPES.get(posixpath.splitext(target or "")[1].lower())
        if not target or not mime or target not in self.package.zip.namelist():
            return Markup("")
        data = base64.b64encode(self.package.zip.read(target)).decode("ascii")
        return Markup('<img class="doc-image" src="data:{};base64,{}" alt="Chữ ký">').format(
            mime, data
        )


def _half_points(rpr) -> int:
    return _int(_val(rpr, _w("sz")), 0)


def _text_width(body) -> int:
    sect = body.find(_w("sectPr"))
    if sect is None:
        return DEFAULT_TEXT_TWIPS
    page = _int(_val(sect, _w("pgSz"), "w"), 0)
    margins = sect.find(_w("pgMar"))
    if not page or margins is None:
        return DEFAULT_TEXT_TWIPS
    return page - _int(margins.get(_w("left"))) - _int(margins.get(_w("right")))


def _first_page_header(package: _Docx, body) -> str:
    """The first page's header (a draft's "DỰ THẢO" mark), if the document has one."""
    sect = body.find(_w("sectPr"))
    refs = {}
    for ref in sect.findall(_w("headerReference")) if sect is not None else ():
        refs[ref.get(_w("type"))] = ref.get(f"{{{R}}}id")
    rels = package.rels("word/document.xml")
    part = rels.get(refs.get("first"))
    if part is None:
        for p in body.iter(_w("sectPr")):  # the first section may carry the reference
            for ref in p.findall(_w("headerReference")):
                if ref.get(_w("type")) == "first":
                    part = rels.get(ref.get(f"{{{R}}}id"))
    if part is None or part not in package.zip.namelist():
        return Markup("")
    header = package.xml(part)
    if not "".join(t.text or "" for t in header.iter(_w("t"))).strip():
        return Markup("")  # a signed document's first page has no header text
    html = Markup("").join(_Writer(package, part).blocks(header, _text_width(body)))
    return Markup('<div class="doc-header">{}</div>').format(html) if html else Markup("")


def docx_html(docx: bytes) -> Markup:
    """The body of a .docx (with its first-page header) as HTML, escaped, for the report page."""
    package = _Docx(docx)
    body = package.xml("word/document.xml").find(_w("body"))
    writer = _Writer(package, "word/document.xml")
    inner = _first_page_header(package, body) + Markup("").join(
        writer.blocks(body, _text_width(body))
    )
    return Markup('<div class="doc-page">{}</div>').format(inner)
