"""Vietnamese text and number handling: NFC, control characters, folding, formatting."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# C0 controls except \t \n \r, plus DEL and the C1 block: pasted text often carries \x0b.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str | None) -> str | None:
    """Normalise user text to NFC, unify newlines and strip control characters."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def clean_line(value: str | None) -> str | None:
    """Like clean_text, for one-line fields: newlines and tabs become spaces, ends trimmed."""
    value = clean_text(value)
    if value is None:
        return None
    return re.sub(r"[\t\n]+", " ", value).strip()


def fold(value: str | None) -> str:
    """Return an accent-free lower-case form for search ("Dân Vận" → "dan van")."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", stripped.lower()).strip()


def like_contains(word: str) -> str:
    """A LIKE pattern matching ``word`` literally anywhere (escape character: backslash)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def format_number(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """Format a number the Vietnamese way: 1.234.567 and 1.234,5 (dot thousands, comma)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if decimals is not None:
            number = number.quantize(Decimal(1).scaleb(-decimals))
        text = f"{number:,f}"
        if decimals is None and "." in text:
            text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_vnd(value: int | None) -> str:
    """Format an amount of money: 1.234.500 đồng."""
    return f"{format_number(value or 0, 0)} đồng"


def format_date(value: date | datetime | None) -> str:
    """Format a date as dd/mm/yyyy (datetimes are shown in Vietnam time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_vn(value)
    return value.strftime("%d/%m/%Y")


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def to_vn(value: datetime) -> datetime:
    """Convert a stored (UTC) datetime to Asia/Ho_Chi_Minh."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VN_TZ)


def format_datetime(value: datetime | None) -> str:
    """Format a stored datetime in Vietnam time: 05/11/2023 09:30 (+07:00)."""
    if value is None:
        return ""
    return to_vn(value).strftime("%d/%m/%Y %H:%M")


def today_vn() -> date:
    """Return today's date in Vietnam."""
    return to_vn(utcnow()).date()


# --- Characters the official documents can print ------------------------------------------
# NĐ 30/2020 documents are set in Times New Roman; our .docx → PDF pipeline renders it with
# Liberation Serif 2, its metric twin. These are the code points every style of Liberation
# Serif 2 has a glyph for (format and private-use characters left out). Anything else (emoji,
# pictographs, dingbats, other scripts' symbols) would print as an empty box or a gap, so the
# documents drop it and the entry form warns about it. tests/test_entry_form.py checks the
# table against the installed fonts.
PRINTABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x20, 0x7E), (0xA0, 0xAC), (0xAE, 0x36F), (0x374, 0x375), (0x37A, 0x37E), (0x384, 0x38A),
    (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3CE), (0x3D0, 0x513), (0x51A, 0x51D),
    (0x591, 0x5C7), (0x5D0, 0x5EA), (0x5F0, 0x5F4), (0x1D00, 0x1DCA), (0x1DFE, 0x1E9B),
    (0x1E9E, 0x1E9E), (0x1EA0, 0x1EF9), (0x1F00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45),
    (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D),
    (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FC4), (0x1FC6, 0x1FD3), (0x1FD6, 0x1FDB),
    (0x1FDD, 0x1FEF), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFE), (0x2000, 0x200A), (0x2010, 0x2010),
    (0x2012, 0x2022), (0x2026, 0x2026), (0x202F, 0x2030), (0x2032, 0x2034), (0x2039, 0x203A),
    (0x203C, 0x203C), (0x203E, 0x203E), (0x2044, 0x2044), (0x205E, 0x205E), (0x2074, 0x2079),
    (0x207F, 0x2089), (0x2090, 0x2094), (0x20A0, 0x20B5), (0x20BF, 0x20BF), (0x20F0, 0x20F0),
    (0x2105, 0x2105), (0x2113, 0x2113), (0x2116, 0x2117), (0x2122, 0x2122), (0x2126, 0x2126),
    (0x212E, 0x212E), (0x214D, 0x214E), (0x2153, 0x2154), (0x215B, 0x215E), (0x2184, 0x2184),
    (0x2190, 0x2195), (0x21A8, 0x21A8), (0x21D4, 0x21D4), (0x2202, 0x2202), (0x2206, 0x2206),
    (0x220F, 0x220F), (0x2211, 0x2212), (0x2215, 0x2215), (0x2219, 0x221A), (0x221E, 0x221F),
    (0x2229, 0x2229), (0x222B, 0x222B), (0x2248, 0x2248), (0x2260, 0x2262), (0x2264, 0x2265),
    (0x2302, 0x2302), (0x2310, 0x2310), (0x2320, 0x2321), (0x2500, 0x2500), (0x2502, 0x2502),
    (0x250C, 0x250C), (0x2510, 0x2510), (0x2514, 0x2514), (0x2518, 0x2518), (0x251C, 0x251C),
    (0x2524, 0x2524), (0x252C, 0x252C), (0x2534, 0x2534), (0x253C, 0x253C), (0x2550, 0x256C),
    (0x2580, 0x2580), (0x2584, 0x2584), (0x2588, 0x2588), (0x258C, 0x258C), (0x2590, 0x2593),
    (0x25A0, 0x25A1), (0x25AA, 0x25AC), (0x25B2, 0x25B2), (0x25BA, 0x25BA), (0x25BC, 0x25BC),
    (0x25C4, 0x25C4), (0x25CA, 0x25CC), (0x25CF, 0x25D9), (0x25E6, 0x25E6), (0x263A, 0x263C),
    (0x2640, 0x2640), (0x2642, 0x2642), (0x2660, 0x2660), (0x2663, 0x2663), (0x2665, 0x2666),
    (0x2669, 0x266C), (0x266F, 0x266F), (0x2C60, 0x2C6D), (0x2C71, 0x2C77), (0x2E17, 0x2E17),
    (0xA717, 0xA721), (0xA788, 0xA78C), (0xFB01, 0xFB02), (0xFB1D, 0xFB36), (0xFB38, 0xFB3C),
    (0xFB3E, 0xFB3E), (0xFB40, 0xFB41), (0xFB43, 0xFB44), (0xFB46, 0xFB4F), (0xFE20, 0xFE23),
    (0xFFFC, 0xFFFC),
)  # fmt: skip


def _printable_class(escape) -> str:
    return "".join(f"{escape(a)}-{escape(b)}" for a, b in PRINTABLE_RANGES)


# One character the documents cannot print (tab and newlines are layout, not glyphs).
_UNPRINTABLE = "[^\t\n\r" + _printable_class(lambda c: f"\\U{c:08x}") + "]"
_UNPRINTABLE_RE = re.compile(f"(?:{_UNPRINTABLE})+")
# Runs of them with the blanks around and between them, so that removing them leaves no gap.
_UNPRINTABLE_RUN = re.compile(
    f"([ \t]*){_UNPRINTABLE_RE.pattern}(?:[ \t]*{_UNPRINTABLE_RE.pattern})*([ \t]*)"
)


def unprintable_chars(value: str | None) -> list[str]:
    """Runs of characters in ``value`` the official fonts cannot print, each once, in order."""
    return list(dict.fromkeys(_UNPRINTABLE_RE.findall(value or "")))


def strip_unprintable(value: str) -> str:
    """``value`` without the characters the official fonts cannot print, and without a gap.

    "Vui 🎉 vẻ" → "Vui vẻ", "Xong ✅" → "Xong", "A🎉B" → "AB" (a keycap "1️⃣" keeps its "1").
    """

    def replace(match: re.Match) -> str:
        start, end = match.start(), match.end()
        at_line_start = start == 0 or value[start - 1] == "\n"
        at_line_end = end == len(value) or value[end] in "\r\n"
        if at_line_start or at_line_end:
            return ""
        return " " if match.group(1) or match.group(2) else ""

    return _UNPRINTABLE_RUN.sub(replace, value)


def unprintable_js_pattern() -> str:
    """The same character test as a JavaScript RegExp source (use it with the "u" flag)."""
    return "[^\\t\\n\\r" + _printable_class(lambda c: f"\\u{{{c:x}}}") + "]"


def shorten(value: str, width: int = 60) -> str:
    """``value`` cut at a word boundary to at most ``width`` characters, with "…" if cut."""
    value = " ".join((value or "").split())
    if len(value) <= width:
        return value
    cut = value[: width - 1]
    if " " in cut[width // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-–") + "…"
