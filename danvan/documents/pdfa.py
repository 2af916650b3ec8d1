"""The PDF/A-3b essentials that can be checked without a full validator (veraPDF).

Run on every signed revision: an incremental signature must not lift the file out of PDF/A-3
(based on PDF 1.7), drop its XMP identification or bring in a font that is not embedded.
"""

from __future__ import annotations

import io
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

PDFA_PART = "3"
PDFA_CONFORMANCE = "B"
MAX_VERSION = (1, 7)
_HEADER = re.compile(rb"^%PDF-(\d)\.(\d)")
_PART = re.compile(r"pdfaid:part(?:>|=\")\s*(\d)")
_CONFORMANCE = re.compile(r"pdfaid:conformance(?:>|=\")\s*([A-Za-z])")


def _version(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"/?(\d)\.(\d)", text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _font_embedded(font) -> bool:
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True  # glyphs are content streams inside the font itself
    if subtype == "/Type0":
        descendants = font.get("/DescendantFonts")
        return all(_font_embedded(d.get_object()) for d in descendants or [])
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _walk_fonts(resources, seen: set, found: dict) -> None:
    """Collect fonts of a resource dictionary and of its form XObjects, once each."""
    if resources is None:
        return
    resources = resources.get_object()
    font_dict = resources.get("/Font")
    font_dict = font_dict.get_object() if font_dict is not None else {}
    for name, ref in font_dict.items():
        font = ref.get_object()
        key = getattr(ref, "idnum", None) or id(font)
        if key not in found:
            found[key] = (str(font.get("/BaseFont", name)), _font_embedded(font))
    xobjects = resources.get("/XObject")
    for ref in (xobjects.get_object() if xobjects is not None else {}).values():
        idnum = getattr(ref, "idnum", None)
        if idnum in seen:
            continue
        seen.add(idnum)
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            _walk_fonts(xobj.get("/Resources"), seen, found)


def _appearance_streams(annot) -> list:
    appearance = annot.get("/AP")
    if appearance is None:
        return []
    out = []
    for value in appearance.get_object().values():
        value = value.get_object()
        if isinstance(value, generic.StreamObject):
            out.append(value)
        elif isinstance(value, generic.DictionaryObject):
            out += [v.get_object() for v in value.values()]
    return out


def pdfa_problems(pdf: bytes) -> list[str]:
    """What keeps this file from the PDF/A-3b essentials, in Vietnamese (empty: none found)."""
    problems = []
    header = _HEADER.match(pdf[:16])
    if header is None:
        return ["Tệp không bắt đầu bằng tiêu đề %PDF-1.x."]
    major, minor = int(header.group(1)), int(header.group(2))
    if (major, minor) > MAX_VERSION:
        problems.append(f"Tiêu đề khai báo PDF {major}.{minor}, PDF/A-3 dựa trên PDF 1.7.")
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    if "/Encrypt" in reader.trailer:  # nothing more can be read without the key
        return [*problems, "Tệp được mã hóa; PDF/A không cho phép mã hóa."]
    root = reader.root
    if "/Version" in root:
        declared = _version(str(root["/Version"]))
        if declared is None or declared > MAX_VERSION:
            problems.append(
                f"Danh mục (catalog) khai báo /Version {root['/Version']}, "
                "vượt quá PDF 1.7 mà PDF/A-3 dựa trên."
            )
    metadata = root.get("/Metadata")
    xmp = metadata.get_object().data.decode("utf-8", "replace") if metadata is not None else ""
    part, conformance = _PART.search(xmp), _CONFORMANCE.search(xmp)
    if part is None or part.group(1) != PDFA_PART:
        problems.append("Siêu dữ liệu XMP không khai báo pdfaid:part = 3.")
    if conformance is None or conformance.group(1).upper() != PDFA_CONFORMANCE:
        problems.append("Siêu dữ liệu XMP không khai báo pdfaid:conformance = B.")
    intents = root.get("/OutputIntents")
    if not intents or not any(
        i.get_object().get("/S") == "/GTS_PDFA1" and "/DestOutputProfile" in i.get_object()
        for i in intents
    ):
        problems.append("Thiếu OutputIntent GTS_PDFA1 với hồ sơ màu (ICC).")
    seen: set = set()
    fonts: dict = {}
    for page in reader.root["/Pages"].get_object().get("/Kids", []):
        _page_fonts(page.get_object(), seen, fonts)
    missing = sorted({name for name, embedded in fonts.values() if not embedded})
    if missing:
        problems.append("Phông chữ chưa được nhúng: " + ", ".join(missing) + ".")
    return problems


def _page_fonts(node, seen: set, fonts: dict) -> None:
    if node.get("/Type") == "/Pages":
        for kid in node.get("/Kids", []):
            _page_fonts(kid.get_object(), seen, fonts)
        return
    _walk_fonts(node.get("/Resources"), seen, fonts)
    for annot in node.get("/Annots") or []:
        for stream in _appearance_streams(annot.get_object()):
            _walk_fonts(stream.get("/Resources"), seen, fonts)
