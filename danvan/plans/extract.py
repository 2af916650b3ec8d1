"""Text of an uploaded plan: .docx (paragraphs and tables), PDF text layer, pasted text.

The result has one paragraph per line, NFC, without control characters, whatever the source:
a PDF's wrapped lines are joined again and its two-column blocks (the NĐ30 header, "Nơi nhận"
beside the signature) are read one column after the other.
"""

from __future__ import annotations

import io
import re
import statistics
import subprocess
import tempfile
import zipfile
from pathlib import Path

from danvan.text import clean_text
from danvan.uploads import detect_kind

PDF_TIMEOUT = 30  # seconds pdftotext may take
MAX_XML_BYTES = 50_000_000  # an uncompressed word/document.xml larger than this is refused
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".text", "")

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class PlanTextError(ValueError):
    """The plan's text could not be read; the message says why, in Vietnamese."""


def extract_text(filename: str, data: bytes) -> str:
    """The plain text of a plan file (.docx, .pdf, .md/.txt), one paragraph per line."""
    suffix = Path(filename or "").suffix.lower()
    kind = detect_kind(data) if data else None
    if not data:
        raise PlanTextError("Tệp rỗng: không có nội dung kế hoạch.")
    if kind == "docx" or (kind is None and suffix == ".docx"):
        text = _docx_text(data)
    elif kind == "pdf":
        text = _pdf_text(data)
    elif kind is None and suffix in TEXT_SUFFIXES:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlanTextError(
                "Tệp văn bản không phải mã UTF-8; hãy lưu lại tệp với mã UTF-8 hoặc dán nội dung."
            ) from None
    elif suffix == ".doc":
        raise PlanTextError(
            "Chưa đọc được tệp Word cũ (.doc); hãy lưu lại thành .docx hoặc xuất ra PDF."
        )
    else:
        raise PlanTextError(
            "Định dạng tệp không được hỗ trợ; hãy dùng tệp .docx, .pdf (có lớp chữ) hoặc dán "
            "nội dung kế hoạch."
        )
    text = normalize_text(text)
    if not text.strip():
        raise PlanTextError("Không tìm thấy chữ nào trong tệp kế hoạch.")
    return text


def normalize_text(text: str) -> str:
    """NFC, "\\n" newlines, no control or invisible characters, single spaces, no blank ends."""
    text = clean_text(text.replace("\f", "\n").replace("\v", "\n")) or ""
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


# --- .docx ---------------------------------------------------------------------------------


def _docx_text(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if any(i.file_size > MAX_XML_BYTES for i in zf.infolist()):
                raise PlanTextError("Tệp .docx quá lớn để đọc.")
        document = docx.Document(io.BytesIO(data))
    except PlanTextError:
        raise
    except Exception as exc:  # python-docx raises many kinds (zip, XML, missing parts)
        raise PlanTextError("Không đọc được tệp .docx: tệp hỏng hoặc không phải Word.") from exc
    numbering = _Numbering(document)
    lines: list[str] = []

    def walk(container) -> None:
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                marker = numbering.marker(block)
                lines.append(f"{marker} {block.text}" if marker else block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    seen: set[int] = set()
                    for cell in row.cells:
                        if id(cell._tc) not in seen:  # a merged cell is listed once per column
                            seen.add(id(cell._tc))
                            walk(cell)

    walk(document)
    return "\n".join(lines)


class _Numbering:
    """Word's automatic list numbers ("1.", "a)", bullets), which paragraph text lacks."""

    FORMATS = {
        "decimal": str,
        "decimalZero": lambda n: f"{n:02d}",
        "lowerLetter": lambda n: chr(ord("a") + (n - 1) % 26),
        "upperLetter": lambda n: chr(ord("A") + (n - 1) % 26),
        "lowerRoman": lambda n: _roman(n).lower(),
        "upperRoman": lambda n: _roman(n),
    }

    def __init__(self, document):
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.styles = document.styles
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {}
        for node in root.findall(f"{_W}abstractNum"):
            levels = {}
            for lvl in node.findall(f"{_W}lvl"):
                fmt = lvl.find(f"{_W}numFmt")
                text = lvl.find(f"{_W}lvlText")
                start = lvl.find(f"{_W}start")
                levels[int(lvl.get(f"{_W}ilvl", "0"))] = (
                    fmt.get(f"{_W}val") if fmt is not None else "decimal",
                    text.get(f"{_W}val") if text is not None else "",
                    int(start.get(f"{_W}val")) if start is not None else 1,
                )
            abstract[node.get(f"{_W}abstractNumId")] = levels
        for num in root.findall(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            levels = abstract.get(ref.get(f"{_W}val") if ref is not None else None, {})
            for ilvl, spec in levels.items():
                self.levels[(num.get(f"{_W}numId"), ilvl)] = spec

    def _num_pr(self, paragraph):
        ppr = paragraph._p.pPr
        num_pr = ppr.find(f"{_W}numPr") if ppr is not None else None
        style = paragraph.style if num_pr is None else None
        while num_pr is None and style is not None:  # numbering given by the style
            spr = style.element.pPr
            num_pr = spr.find(f"{_W}numPr") if spr is not None else None
            style = style.base_style
        if num_pr is None:
            return None
        num_id = num_pr.find(f"{_W}numId")
        ilvl = num_pr.find(f"{_W}ilvl")
        if num_id is None:
            return None
        return num_id.get(f"{_W}val"), int(ilvl.get(f"{_W}val")) if ilvl is not None else 0

    def marker(self, paragraph) -> str:
        """The list marker Word would show before ``paragraph`` ("" when it has none)."""
        if not self.levels or not paragraph.text.strip():
            return ""
        found = self._num_pr(paragraph)
        if found is None or found[0] == "0" or found not in self.levels:
            return ""
        num_id, ilvl = found
        fmt, template, start = self.levels[found]
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if fmt == "bullet":
            return "-"
        if fmt == "none":
            return ""

        def level_text(match: re.Match) -> str:
            level = int(match.group(1)) - 1
            level_fmt = self.levels.get((num_id, level), ("decimal", "", 1))[0]
            value = counters.get(level, self.levels.get((num_id, level), ("", "", 1))[2])
            return self.FORMATS.get(level_fmt, str)(value)

        return re.sub(r"%(\d)", level_text, template).strip()


def _roman(n: int) -> str:
    out = ""
    for value, letters in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while n >= value:
            out, n = out + letters, n - value
    return out


# --- PDF -----------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="danvan-plan-") as tmp:
        src = Path(tmp) / "plan.pdf"
        src.write_bytes(data)
        try:
            done = subprocess.run(
                ["pdftotext", "-layout", "-enc", "UTF-8", str(src), "-"],
                capture_output=True,
                timeout=PDF_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise PlanTextError("Máy chủ chưa cài pdftotext (gói poppler-utils).") from None
        except subprocess.TimeoutExpired:
            raise PlanTextError(
                f"Đọc tệp PDF quá thời gian ({PDF_TIMEOUT} giây); hãy tải lên tệp .docx."
            ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").lower()
        if "password" in detail or "encrypt" in detail:
            raise PlanTextError("Tệp PDF có mật khẩu; hãy tải lên bản không khóa hoặc tệp .docx.")
        raise PlanTextError("Không đọc được tệp PDF: tệp hỏng hoặc không phải PDF.")
    text = done.stdout.decode("utf-8", "replace")
    if not text.strip():
        raise PlanTextError(
            "Tệp PDF không có lớp chữ (có thể là bản quét); hãy tải lên tệp .docx hoặc dán "
            "nội dung kế hoạch."
        )
    return reflow_layout(text)


# A list marker that starts a new paragraph: "1.", "a)", "II.", "- Xxx", "+ Xxx", "•".
_MARKER = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2})*\s*[.)]\s|[a-zđ]\s*\)\s|[IVX]{1,5}\s*[.)]\s|Nơi nhận|Số\s*:)"
)
_BULLET = re.compile(r"^[-–+•*▪●]\s*(\S)")


def _starts_marker(text: str) -> bool:
    """Whether a line opens a list item or heading (a "- " before a lowercase word does not)."""
    if _MARKER.match(text):
        return True
    bullet = _BULLET.match(text)
    return bool(bullet) and not bullet.group(1).islower()


def _starts_lower(text: str) -> bool:
    return bool(text) and (text[0].islower() or text[0].isdigit())


_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*)?\d{1,3}(?:\s*-)?\s*$|^\s*Trang\s+\d+(?:\s*/\s*\d+)?\s*$")
_PIECE = re.compile(r"\S+(?: {1,4}\S+)*")  # runs of words; five spaces or more separate columns


def _ends_sentence(text: str) -> bool:
    return text.rstrip("”\"')]»").endswith((".", ";", ":", "!", "?", "…"))


def _join(left: str, right: str) -> str:
    if re.search(r"\w-$", left):  # a line broken after a hyphen: "25-" + "NQ/TW"
        return left + right
    return f"{left} {right}"


def reflow_layout(text: str) -> str:
    """Join the wrapped lines of ``pdftotext -layout`` output into paragraphs, one a line."""
    raw = [line.rstrip() for line in text.replace("\f", "").split("\n")]
    raw = [line for line in raw if not _PAGE_NUMBER.match(line)]
    rows = [[(m.start(), m.end(), m.group()) for m in _PIECE.finditer(line)] for line in raw]
    singles = [r[0] for r in rows if len(r) == 1 and r[0][1] - r[0][0] >= 30]
    width = max((end for _, end, _ in singles), default=80)
    if len(singles) >= 5:
        width = statistics.quantiles([end for _, end, _ in singles], n=20)[-1]
    margin = min((start for start, _, _ in singles), default=0)
    out: list[str] = []
    paragraph: list | None = None  # [text, indent, end]

    def flush() -> None:
        nonlocal paragraph
        if paragraph is not None:
            out.append(paragraph[0])
        paragraph = None

    i = 0
    while i < len(rows):
        row = rows[i]
        if not row:
            flush()
            i += 1
            continue
        if len(row) >= 2 and row[-1][0] >= 0.3 * width:
            flush()
            i = _column_block(rows, i, out)
            continue
        start, end, piece = row[0][0], row[-1][1], " ".join(p[2] for p in row)
        piece = _SPACES.sub(" ", piece)
        if paragraph is not None and _continues(paragraph, start, piece, width, margin):
            paragraph = [_join(paragraph[0], piece), paragraph[1], end]
        else:
            flush()
            paragraph = [piece, start, end]
        i += 1
    flush()
    return "\n".join(out)


def _continues(previous: list, indent: int, text: str, width: float, margin: int) -> bool:
    """Whether a layout line carries on the paragraph before it (wrapped at the margin)."""
    if _starts_marker(text):
        return False
    if _starts_lower(text) and not _ends_sentence(previous[0]):
        return True  # "… của Uỷ ban" + "nhân dân tỉnh …"
    if previous[2] < 0.85 * width:  # the line before stopped short: it ended its paragraph
        return False
    return not (indent > margin + 1 and _ends_sentence(previous[0]))


def _column_block(rows: list, i: int, out: list[str]) -> int:
    """Read a two-column block starting at row ``i`` into ``out``; return the next row."""
    split = rows[i][-1][0]
    left_start = rows[i][0][0]
    right_centres = []
    left: list[str] = []
    right: list[str] = []

    def add(column: list[str], text: str) -> None:
        text = _SPACES.sub(" ", text)
        if column and _starts_lower(text) and not _ends_sentence(column[-1]):
            column[-1] = _join(column[-1], text)
        else:
            column.append(text)

    while i < len(rows) and rows[i]:
        row = rows[i]
        if len(row) >= 2 and row[-1][0] >= 0.6 * split:
            split = min(split, row[-1][0])
            cut = next(k for k, p in enumerate(row) if p[0] >= split - 2)
            left_start = min(left_start, row[0][0]) if cut else left_start
            if cut:
                add(left, " ".join(p[2] for p in row[:cut]))
            add(right, " ".join(p[2] for p in row[cut:]))
            right_centres.append((row[cut][0] + row[-1][1]) / 2)
        elif len(row) == 1:
            start, end, text = row[0]
            centre = (start + end) / 2
            near_right = right_centres and abs(centre - statistics.mean(right_centres)) <= 10
            if start >= split - 2 or near_right:
                add(right, text)
            elif end <= split - 1 and abs(start - left_start) <= 3:  # under the left column
                add(left, text)
            else:
                break
        else:
            break
        i += 1
    out.extend(left)
    out.extend(right)
    return i
