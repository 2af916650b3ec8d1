"""PDF helpers: .docx → PDF/A (LibreOffice), rendering and text boxes (poppler), embedded files.

Every function takes and returns bytes; external tools work in a private temporary directory, so
several conversions can run at once (each LibreOffice job has its own profile).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"3"}}'
PLAIN_FILTER = "pdf:writer_pdf_Export"
_XHTML = "{http://www.w3.org/1999/xhtml}"


class PdfConversionError(RuntimeError):
    """The .docx could not be converted to PDF."""


class LibreOfficeUnavailable(PdfConversionError):
    """LibreOffice (soffice) is not installed on this machine."""


class PopplerError(RuntimeError):
    """A poppler-utils command (pdftoppm, pdftotext) failed or is missing."""


@dataclass(frozen=True)
class TextBox:
    """A text box on a page, in PDF user space (points, y counted from the bottom)."""

    page: int  # 0-based
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    page_width: float
    page_height: float

    @property
    def centre_x(self) -> float:
        """Horizontal centre of the box."""
        return (self.x0 + self.x1) / 2


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_available() -> bool:
    """True when soffice/libreoffice is on PATH."""
    return _soffice() is not None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def docx_to_pdf(docx: bytes, *, pdfa: bool = True, timeout: float = 120) -> bytes:
    """Convert .docx bytes to PDF (PDF/A-3b by default) with headless LibreOffice."""
    soffice = _soffice()
    if soffice is None:
        raise LibreOfficeUnavailable(
            "Không chuyển được sang PDF: máy chủ chưa cài LibreOffice (soffice)."
        )
    if not docx:
        raise PdfConversionError("Không chuyển được sang PDF: tệp .docx rỗng.")
    with tempfile.TemporaryDirectory(prefix="danvan-lo-") as tmp:
        work = Path(tmp)
        src = work / "document.docx"
        src.write_bytes(docx)
        out_dir = work / "out"
        cmd = [
            soffice,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            PDFA_FILTER if pdfa else PLAIN_FILTER,
            "--outdir",
            str(out_dir),
            str(src),
        ]
        env = dict(os.environ, HOME=str(work))
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=work,
            start_new_session=True,  # its own process group, so a timeout kills every child
        )
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise PdfConversionError(
                f"Không chuyển được sang PDF: LibreOffice quá thời gian ({timeout:g} giây)."
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
        result = out_dir / "document.pdf"
        if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            detail = stderr.decode("utf-8", "replace").strip()[-300:]
            raise PdfConversionError(
                "Không chuyển được sang PDF: LibreOffice không tạo ra tệp PDF "
                f"(mã thoát {proc.returncode}). {detail}".strip()
            )
        return result.read_bytes()


def _run_poppler(cmd: list[str], timeout: float = 60) -> bytes:
    if shutil.which(cmd[0]) is None:
        raise PopplerError(f"Thiếu công cụ {cmd[0]} (gói poppler-utils).")
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PopplerError(f"{cmd[0]} quá thời gian ({timeout:g} giây).") from exc
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip()[:300]
        raise PopplerError(f"{cmd[0]} không đọc được tệp PDF: {msg}")
    return done.stdout


def pdf_to_png_pages(
    pdf: bytes, *, dpi: int = 80, first: int | None = None, last: int | None = None
) -> list[bytes]:
    """Render pages (1-based `first`..`last`, default all) to PNG bytes with pdftoppm."""
    with tempfile.TemporaryDirectory(prefix="danvan-ppm-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        cmd = ["pdftoppm", "-png", "-r", str(int(dpi))]
        if first is not None:
            cmd += ["-f", str(int(first))]
        if last is not None:
            cmd += ["-l", str(int(last))]
        _run_poppler([*cmd, str(src), str(Path(tmp) / "page")], timeout=120)
        pages = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [p.read_bytes() for p in pages]


def pdf_text(pdf: bytes) -> str:
    """Plain text of the whole PDF (pdftotext, UTF-8, NFC)."""
    with tempfile.TemporaryDirectory(prefix="danvan-txt-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        out = _run_poppler(["pdftotext", "-enc", "UTF-8", str(src), "-"])
    return unicodedata.normalize("NFC", out.decode("utf-8", "replace"))


@dataclass(frozen=True)
class _Line:
    page: int
    words: list[tuple[str, float, float, float, float]]  # text, xmin, ymin, xmax, ymax (top-down)
    width: float
    height: float


def _layout_lines(pdf: bytes, page: int | None = None) -> list[_Line]:
    """Text lines with word boxes, of one page (0-based) or of the whole document."""
    cmd = ["pdftotext", "-bbox-layout", "-enc", "UTF-8"]
    if page is not None:  # one page is ~100× faster than a long document
        cmd += ["-f", str(page + 1), "-l", str(page + 1)]
    with tempfile.TemporaryDirectory(prefix="danvan-bbox-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        out = _run_poppler([*cmd, str(src), "-"])
    try:
        root = ET.fromstring(out)
    except ET.ParseError as exc:
        raise PopplerError("pdftotext trả về dữ liệu vị trí chữ không hợp lệ.") from exc
    lines: list[_Line] = []
    for offset, page_el in enumerate(root.iter(f"{_XHTML}page")):
        page_ix = offset if page is None else page
        width, height = float(page_el.get("width", 0)), float(page_el.get("height", 0))
        for line in page_el.iter(f"{_XHTML}line"):
            words = [
                (
                    unicodedata.normalize("NFC", w.text or ""),
                    float(w.get("xMin", 0)),
                    float(w.get("yMin", 0)),
                    float(w.get("xMax", 0)),
                    float(w.get("yMax", 0)),
                )
                for w in line.iter(f"{_XHTML}word")
            ]
            if words:
                lines.append(_Line(page_ix, words, width, height))
    return lines


def _box(line: _Line, words: list[tuple[str, float, float, float, float]]) -> TextBox:
    x0 = min(w[1] for w in words)
    x1 = max(w[3] for w in words)
    top = min(w[2] for w in words)
    bottom = max(w[4] for w in words)
    text = " ".join(w[0] for w in words)
    h = line.height
    return TextBox(line.page, x0, h - bottom, x1, h - top, text, line.width, h)


def find_text_boxes(pdf: bytes, words: str, page: int | None = None) -> list[TextBox]:
    """Every occurrence of the word sequence `words` (within one line), in document order."""
    wanted = unicodedata.normalize("NFC", words).split()
    if not wanted:
        return []
    found = []
    for line in _layout_lines(pdf, page):
        texts = [w[0] for w in line.words]
        for i in range(len(texts) - len(wanted) + 1):
            if texts[i : i + len(wanted)] == wanted:
                found.append(_box(line, line.words[i : i + len(wanted)]))
    return found


def find_text_box(pdf: bytes, words: str, page: int | None = None) -> TextBox | None:
    """The LAST occurrence of `words` (on `page`, 0-based, or anywhere), or None."""
    boxes = find_text_boxes(pdf, words, page)
    return boxes[-1] if boxes else None


def line_above(pdf: bytes, box: TextBox) -> TextBox | None:
    """The nearest text line above `box` on its page that overlaps it horizontally."""
    return _neighbour_line(pdf, box, above=True)


def line_below(pdf: bytes, box: TextBox) -> TextBox | None:
    """The nearest text line below `box` on its page that overlaps it horizontally."""
    return _neighbour_line(pdf, box, above=False)


def _neighbour_line(pdf: bytes, box: TextBox, *, above: bool) -> TextBox | None:
    best: TextBox | None = None
    for line in _layout_lines(pdf, box.page):
        # Only the words of this line that sit over the box's column count (tables put the
        # "Nơi nhận" cell and the signer block on the same text line).
        words = [w for w in line.words if w[3] > box.x0 - 40 and w[1] < box.x1 + 40]
        if not words:
            continue
        cand = _box(line, words)
        if above:
            closer = cand.y0 >= box.y1 - 0.5 and (best is None or cand.y0 < best.y0)
        else:
            closer = cand.y1 <= box.y0 + 0.5 and (best is None or cand.y1 > best.y1)
        if closer:
            best = cand
    return best


def page_count(pdf: bytes) -> int:
    """Number of pages (pdfinfo)."""
    with tempfile.TemporaryDirectory(prefix="danvan-info-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        out = _run_poppler(["pdfinfo", str(src)]).decode("utf-8", "replace")
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split(":", 1)[1])
    raise PopplerError("pdfinfo không cho biết số trang của tệp PDF.")


def _deref(obj, key: str):
    """`obj[key]` resolved through indirect references, or None when absent."""
    value = obj.get_object().get(key) if obj is not None else None
    return value.get_object() if value is not None else None


def _iter_name_tree(node) -> Iterable[tuple[str, object]]:
    names = _deref(node, "/Names") or []
    for i in range(0, len(names) - 1, 2):
        yield str(names[i]), names[i + 1].get_object()
    for kid in _deref(node, "/Kids") or []:
        yield from _iter_name_tree(kid)


def embedded_files(pdf: bytes) -> dict[str, bytes]:
    """All files embedded in `pdf` (name tree /EmbeddedFiles), by their Unicode names."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        tree = _deref(_deref(reader.root, "/Names"), "/EmbeddedFiles")
        found: dict[str, bytes] = {}
        for key, spec in _iter_name_tree(tree) if tree is not None else ():
            ef = _deref(spec, "/EF")
            stream = (_deref(ef, "/UF") or _deref(ef, "/F")) if ef is not None else None
            if stream is not None:
                found[str(_deref(spec, "/UF") or _deref(spec, "/F") or key)] = stream.data
    except Exception as exc:
        raise ValueError("Tệp không phải là PDF hợp lệ hoặc đã bị hỏng.") from exc
    return found


def extract_embedded_file(pdf: bytes, name: str | None = None) -> bytes | None:
    """The embedded file called `name` (or the first one), or None."""
    files = embedded_files(pdf)
    if name is None:
        return next(iter(files.values()), None)
    return files.get(name)


def signature_widget(pdf: bytes, index: int = 0) -> tuple[int, tuple[float, ...]] | None:
    """Page (0-based) and /Rect (x0, y0, x1, y1) of the `index`-th signature's widget, or None."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:
        raise ValueError("Tệp không phải là PDF hợp lệ hoặc đã bị hỏng.") from exc
    if len(sigs) <= index:
        return None
    name = sigs[index].field_name
    for ix in range(int(reader.root["/Pages"]["/Count"])):
        page_ref, _ = reader.find_page_for_modification(ix)
        for annot in _deref(page_ref, "/Annots") or []:
            annot = annot.get_object()
            title = _deref(annot, "/T") or _deref(_deref(annot, "/Parent"), "/T")
            if title == name and "/Rect" in annot:
                x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
                return ix, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return None
