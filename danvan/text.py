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
