"""Date patterns of plans: 01/10/2023, 1/10, ngày 01 tháng 10 năm 2023, and ranges of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


def date_pattern(n: str) -> str:
    """A date pattern, groups named after ``n``: 01/10/2023, 1/10, ngày 01 tháng 10 năm 2023."""
    return (
        rf"(?:(?<![\d/.])(?P<{n}d>\d{{1,2}})(?P<{n}s>[/.\-])(?P<{n}m>\d{{1,2}})"
        rf"(?:(?P={n}s)(?P<{n}y>\d{{4}}))?(?![\d/])"
        rf"|(?P<{n}wd>\d{{1,2}})\s+tháng\s+(?P<{n}wm>\d{{1,2}})"
        rf"(?:\s*(?:năm|,)\s*(?P<{n}wy>\d{{4}}))?(?!\d))"
    )


@dataclass(frozen=True)
class Day:
    """A day and month as written, with the year when the text gives one."""

    day: int
    month: int
    year: int | None
    text: str

    def resolve(self, year: int | None, problems: list[str], what: str = "") -> date | None:
        """The date, taking ``year`` when the text gave none; None (and why) when invalid."""
        where = f" ({what})" if what else ""
        y = self.year or year
        if y is None:
            problems.append(f"Không xác định được năm của ngày “{self.text}”{where}.")
            return None
        try:
            return date(y, self.month, self.day)
        except ValueError:
            problems.append(f"Ngày không hợp lệ: “{self.text}”{where}.")
            return None


def day_of(match: re.Match, n: str) -> Day | None:
    """The ``Day`` a ``date_pattern(n)`` group matched, or None when it did not take part."""
    groups = match.groupdict()
    prefix = n if groups.get(f"{n}d") else f"{n}w"
    if not groups.get(f"{prefix}d"):
        return None
    d, m, y = (groups.get(f"{prefix}{k}") for k in "dmy")
    last = f"{prefix}y" if y else f"{prefix}m"
    text = match.string[match.start(f"{prefix}d") : match.end(last)]
    return Day(int(d), int(m), int(y) if y else None, text)


_RANGE_JOIN = r"\s*(?:(?:đến|tới|-)\s+(?:hết\s+)?(?:ngày\s+)?|[-–—]\s*(?:ngày\s+)?)"
PERIOD = re.compile(
    rf"\btừ\s+(?:ngày\s+)?{date_pattern('a')}{_RANGE_JOIN}{date_pattern('b')}", re.IGNORECASE
)
PERIOD_BARE = re.compile(  # "Thời gian: 01/10/2023 – 31/10/2023"
    rf"\bthời\s+gian[^:\n]{{0,40}}:\s*(?:ngày\s+)?{date_pattern('a')}{_RANGE_JOIN}{date_pattern('b')}",
    re.IGNORECASE,
)
PERIOD_MONTH = re.compile(  # "Thời gian: tháng 10/2023", "trong tháng 10 năm 2023"
    r"(?:\bthời\s+gian[^:\n]{0,40}:\s*|\btrong\s+|\bsuốt\s+)tháng\s+(?P<m>\d{1,2})"
    r"(?:\s*/\s*|\s+năm\s+)(?P<y>\d{4})",
    re.IGNORECASE,
)
DEADLINE = re.compile(
    r"(?:\btrước|\bchậm\s+nhất(?:\s+là)?(?:\s+vào)?|\bmuộn\s+nhất(?:\s+là)?"
    r"|\bkhông\s+muộn\s+hơn|\bhạn\s+chót(?:\s+là)?|\bhạn\s+(?:gửi|nộp)(?:\s+báo\s+cáo)?"
    r"(?:\s+là|\s*:)?|\bthời\s+hạn(?:\s+gửi)?(?:\s+báo\s+cáo)?(?:\s+là|\s*:)?|\btrong\s+ngày)"
    r"\s*(?:\d{1,2}\s*(?:giờ|h)(?:\s*\d{1,2})?(?:\s*phút)?\s*,?\s*)?(?:(?:ngày|hôm)\s+)?"
    + date_pattern("a"),
    re.IGNORECASE,
)
OBSERVANCE_DATE = re.compile(  # "(15/10)", "(14/10/1930)", "(15/10/1930-15/10/2023)"
    rf"\(\s*(?:ngày\s+)?{date_pattern('a')}(?:\s*[-–—]\s*(?:ngày\s+)?{date_pattern('b')})?\s*\)",
    re.IGNORECASE,
)
DATED_LINE = (
    re.compile(  # "01/10: Ngày Quốc tế Người cao tuổi", "15/10/1930 - 15/10/2023: Kỷ niệm …"
        rf"^(?:ngày\s+)?{date_pattern('a')}(?:\s*[-–—]\s*(?:ngày\s+)?{date_pattern('b')})?"
        r"\s*[:–-]\s*(?P<name>\S.*)$",
        re.IGNORECASE,
    )
)
