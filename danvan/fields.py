"""Form fields for Vietnamese input: dd/mm/yyyy dates and 1.234.500 numbers."""

from __future__ import annotations

import re
from datetime import date, datetime

from wtforms import StringField

from danvan.text import format_date, format_number

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
DATE_ERROR = "Ngày không hợp lệ, hãy nhập theo dạng dd/mm/yyyy (ví dụ 15/10/2023)."


def parse_vn_date(raw: str | None) -> date | None:
    """Parse dd/mm/yyyy (or yyyy-mm-dd); None for empty input; ValueError otherwise."""
    raw = (raw or "").strip()
    if not raw:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(DATE_ERROR)


class VNDateField(StringField):
    """A date typed as dd/mm/yyyy (yyyy-mm-dd is accepted too)."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_date(self.data) if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            self.data = parse_vn_date(valuelist[0])


class VNIntegerField(StringField):
    """A whole number typed with or without dot separators: 1.234.500."""

    def __init__(self, *args, minimum: int = 0, maximum: int = 10**15, **kwargs):
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_number(self.data) if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist:
            return
        raw = re.sub(r"[\s.]|đồng|đ|vnđ|vnd", "", (valuelist[0] or "").lower())
        if raw == "":
            return
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise ValueError("Vui lòng nhập số nguyên, ví dụ 1.234.500.")
        # Thousands of digits would make int() raise (Python ≥ 3.11): out of range anyway.
        value = int(raw) if len(raw) <= 30 else None
        if value is None or not self.minimum <= value <= self.maximum:
            raise ValueError("Giá trị nằm ngoài phạm vi cho phép.")
        self.data = value
