"""A plan's text as paragraphs: Markdown removed, spelling unified, list markers named."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from danvan.plans.extract import normalize_text
from danvan.text import fold

# --- Text clean-up -------------------------------------------------------------------------

# Old-style tone marks ("uỷ", "hoà", "khoá") → the placement the application uses ("ủy").
_TONE_MOVE = re.compile("(?<![qQ])([oOuU])([aAeEyY])([\u0300\u0301\u0303\u0309\u0323])(?!\\w)")


def normalize_spelling(value: str) -> str:
    """Put tone marks where the application writes them: "Tỉnh uỷ" → "Tỉnh ủy", "khoá" → "khóa"."""
    decomposed = unicodedata.normalize("NFD", value)
    return unicodedata.normalize("NFC", _TONE_MOVE.sub(r"\1\3\2", decomposed))


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
_BULLET = re.compile(r"^\s*(?:[-–—+•▪●○]|\*(?=\s))\s*")
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]\s+(?=\S)")
_SUBNUMBER = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.?\s+(?=\S)")
_LETTER = re.compile(r"^\s*([a-zđ])\s*[).]\s+(?=\S)")
ROMAN = re.compile(r"^\s*(?P<num>[IVX]{1,5})\s*[.):/-]\s*(?P<title>\S.*)$")
ENDS_SENTENCE = re.compile(r"[.;:!?…][”\"')\]»]*$")


def _strip_markdown(line: str) -> str:
    line = _MD_HEADING.sub("", line)
    line = re.sub(r"^\s*>\s?", "", line)
    for _ in range(2):  # "***Nơi nhận:***", "**_x_**"
        line = _MD_EMPHASIS.sub(r"\2", line)
    line = _MD_ESCAPE.sub(r"\1", line)
    return line.replace("**", "").strip()


def paragraphs(text: str) -> list[str]:
    """Clean lines, one paragraph each; a soft-wrapped line is joined to the one before it."""
    out: list[str] = []
    joinable = False
    for raw in normalize_text(text).split("\n"):
        line = normalize_spelling(_strip_markdown(raw))
        line = re.sub(r"^[-_=*]{3,}$", "", line)  # horizontal rules
        if not line:
            joinable = False
            continue
        if (
            joinable
            and out
            and (line[0].islower() or line.startswith("("))
            and not ENDS_SENTENCE.search(out[-1])
            and not starts_list(line)
        ):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        joinable = True
    return out


def starts_list(line: str) -> bool:
    """Whether a line opens a heading or list item ("II.", "1.", "a)", "- ")."""
    return bool(ROMAN.match(line)) or marker(line) != "plain"


def marker(paragraph: str) -> str:
    """The kind of list item a paragraph is: "number", "letter", "bullet" or "plain"."""
    if _SUBNUMBER.match(paragraph):
        return "subnumber"
    if _NUMBER.match(paragraph):
        return "number"
    if _LETTER.match(paragraph):
        return "letter"
    if _BULLET.match(paragraph) and len(paragraph) > 1:
        return "bullet"
    return "plain"


def unmark(paragraph: str) -> str:
    """The paragraph without its list marker ("1.", "a)", "- ")."""
    for pattern in (_SUBNUMBER, _NUMBER, _LETTER, _BULLET):
        if pattern.match(paragraph):
            return pattern.sub("", paragraph, count=1).strip()
    return paragraph.strip()


def tidy_item(value: str) -> str:
    """An item without its list marker, trailing ";" ":" "," or single full stop."""
    value = unmark(value).strip()
    value = re.sub(r"\s*[;:,]+$", "", value)
    if value.endswith(".") and not value.endswith(".."):
        value = value[:-1].rstrip()
    return value


# --- Document structure --------------------------------------------------------------------


@dataclass
class Doc:
    """The paragraphs and where the plan's landmarks are among them."""

    paragraphs: list[str]
    plan_heading: int | None  # index of the "KẾ HOẠCH" line
    headings: list[tuple[int, str, str]]  # (index, roman numeral, title)
    recipients_at: int | None  # index of "Nơi nhận"

    def section(self, start: int) -> range:
        """Paragraph indices of the section whose heading is at ``start``."""
        later = [i for i, _, _ in self.headings if i > start]
        end = min([*later, self.recipients_at or len(self.paragraphs), len(self.paragraphs)])
        for i in range(start + 1, end):
            if fold(self.paragraphs[i]).startswith("tren day la"):
                end = i
                break
        return range(start + 1, end)


_ROMAN_VALUES = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8}
_KNOWN_SECTIONS = ("muc dich", "noi dung", "thoi gian", "to chuc thuc hien", "kinh phi")


def _is_plan_heading(paragraph: str) -> bool:
    return fold(paragraph).rstrip(" :.") == "ke hoach" or paragraph.startswith("KẾ HOẠCH ")


def read_structure(paragraphs: list[str]) -> Doc:
    """Find the "KẾ HOẠCH" line, the section headings and "Nơi nhận" among the paragraphs."""
    plan_heading = next(
        (i for i, p in enumerate(paragraphs) if _is_plan_heading(p)),
        None,
    )
    headings = []
    for i, p in enumerate(paragraphs):
        match = ROMAN.match(p)
        if match and match.group("num") in _ROMAN_VALUES and len(p) <= 200:
            headings.append((i, match.group("num"), match.group("title")))
        elif len(p) <= 80 and p.upper() == p and fold(p).startswith(_KNOWN_SECTIONS):
            headings.append((i, "", p))  # "NỘI DUNG" without a numeral
    recipients_at = next(
        (i for i, p in enumerate(paragraphs) if fold(p).startswith("noi nhan")), None
    )
    return Doc(paragraphs, plan_heading, headings, recipients_at)
