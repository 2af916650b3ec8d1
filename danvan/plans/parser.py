"""Read a department's plan (Kế hoạch) into the fields of a draft campaign.

Pure functions, no Flask. ``parse_plan`` never guesses: a field it cannot find is ``None``
(or an empty list) and ``problems`` says, in Vietnamese, what was not found and where it was
looked for. The parser is tolerant of how plans are typed: dates "01/10/2023", "1/10/2023",
"ngày 01 tháng 10 năm 2023", ranges "từ ngày … đến (hết) ngày …" or with a dash, Roman
section headings ("II. NỘI DUNG"), items "1." / "a)" / "-", and Markdown markup.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from danvan.plans.dates import (
    DATED_LINE,
    DEADLINE,
    OBSERVANCE_DATE,
    PERIOD,
    PERIOD_BARE,
    PERIOD_MONTH,
    Day,
    day_of,
)
from danvan.plans.extract import PlanTextError, extract_text
from danvan.plans.structure import (
    ENDS_SENTENCE,
    Doc,
    marker,
    normalize_spelling,
    paragraphs,
    read_structure,
    starts_list,
    tidy_item,
    unmark,
)
from danvan.text import fold

__all__ = [
    "ParsedObservance",
    "ParsedPlan",
    "PlanTextError",
    "extract_text",
    "normalize_spelling",
    "parse_plan",
]


@dataclass
class ParsedObservance:
    """A commemorative day the plan names: "Ngày … (15/10)", with its anniversary if stated."""

    name: str
    date: date
    years: int | None = None  # "93 năm"
    founding_year: int | None = None  # date.year - years

    def to_json(self) -> dict:
        """``{name, date, years}`` with the date as an ISO string."""
        return {"name": self.name, "date": self.date.isoformat(), "years": self.years}


@dataclass
class ParsedPlan:
    """What ``parse_plan`` found; ``problems`` lists, in Vietnamese, everything it did not."""

    title: str | None = None
    plan_number: str | None = None
    plan_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    report_deadline: date | None = None
    report_recipient: str | None = None
    content_items: list[str] = field(default_factory=list)
    observances: list[ParsedObservance] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The plan as JSON-ready data (dates ISO 8601, missing values None)."""

        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "title": self.title,
            "plan_number": self.plan_number,
            "plan_date": iso(self.plan_date),
            "period_start": iso(self.period_start),
            "period_end": iso(self.period_end),
            "report_deadline": iso(self.report_deadline),
            "content_items": list(self.content_items),
            "observances": [o.to_json() for o in self.observances],
            "recipients": list(self.recipients),
            "problems": list(self.problems),
        }


# --- The fields ----------------------------------------------------------------------------

_PLAN_NUMBER = re.compile(
    r"\bSố\s*[:.]?\s*(?P<num>[\d.…_ ]*?)\s*/\s*(?P<sym>KH\b[\w\-–/.]*)", re.IGNORECASE
)
_PLAN_DATE = re.compile(
    r"(?:^|[^\d\s,][^,\n]{0,40}),\s*ngày\s*(?P<d>\d{1,2}|[.…_ ]*)\s*(?:tháng\s*(?P<m>\d{1,2}|"
    r"[.…_ ]*)\s*năm\s*(?P<y>\d{4})|(?P<sep>[/.-])(?P<m2>\d{1,2})(?P=sep)(?P<y2>\d{4}))",
    re.IGNORECASE,
)


def _header(doc: Doc, plan: ParsedPlan) -> int | None:
    """Plan number and date from the lines above the title; return the year the header gives."""
    end = doc.plan_heading if doc.plan_heading is not None else min(12, len(doc.paragraphs))
    header = doc.paragraphs[:end]
    number = next((m for p in header if (m := _PLAN_NUMBER.search(p))), None)
    if number is None:
        plan.problems.append("Không tìm thấy số kế hoạch (dòng “Số: …/KH-…” ở đầu văn bản).")
    elif not number.group("num").strip(" ._…").isdigit():
        plan.problems.append(
            f"Số kế hoạch để trống (“Số: /{number.group('sym')}”): kế hoạch chưa được cấp số; "
            "nhập số khi có."
        )
    else:
        plan.plan_number = f"{number.group('num').strip(' ._…')}/{number.group('sym')}"
    dated = next((m for p in header if (m := _PLAN_DATE.search(p))), None)
    if dated is None:
        plan.problems.append(
            "Không tìm thấy ngày ban hành kế hoạch (dòng “…, ngày … tháng … năm …” ở đầu văn bản)."
        )
        return None
    year = int(dated.group("y") or dated.group("y2"))
    day, month = dated.group("d").strip(" ._…"), (dated.group("m") or dated.group("m2") or "")
    month = month.strip(" ._…")
    if not day.isdigit() or not month.isdigit():
        plan.problems.append(
            f"Ngày ban hành kế hoạch để trống (“ngày … tháng … năm {year}”); nhập ngày khi ký."
        )
        return year
    when = Day(int(day), int(month), year, dated.group(0).strip())
    plan.plan_date = when.resolve(year, plan.problems, "ngày ban hành")
    return year


_TITLE_STOP = re.compile(r"^(?:thuc hien|can cu|de |nham |kinh gui|trien khai (?:van ban|cong))")


def _title(doc: Doc, plan: ParsedPlan) -> None:
    if doc.plan_heading is None:
        plan.problems.append("Không tìm thấy tên kế hoạch: thiếu dòng “KẾ HOẠCH” ở đầu văn bản.")
        return
    first = doc.paragraphs[doc.plan_heading]
    parts = [first[len("KẾ HOẠCH") :].strip(" :-–")] if len(first) > len("KẾ HOẠCH") else []
    headings = {i for i, _, _ in doc.headings}
    for i in range(doc.plan_heading + 1, min(doc.plan_heading + 4, len(doc.paragraphs))):
        p = doc.paragraphs[i]
        if (
            _TITLE_STOP.match(fold(p))
            or starts_list(p)
            or i in headings
            or i == doc.recipients_at
            or (parts and ENDS_SENTENCE.search(parts[-1]))
            or (parts and (ENDS_SENTENCE.search(p) or len(p) > 250))  # a sentence, not a title
        ):
            break
        parts.append(p)
    title = " ".join(x for x in parts if x).strip()
    if not title:
        plan.problems.append("Không tìm thấy tên kế hoạch (dòng ngay sau “KẾ HOẠCH”).")
        return
    plan.title = title


def _recipients(doc: Doc, plan: ParsedPlan) -> None:
    if doc.recipients_at is None:
        plan.problems.append("Không tìm thấy phần “Nơi nhận” ở cuối kế hoạch.")
        return
    first = doc.paragraphs[doc.recipients_at]
    inline = first.split(":", 1)[1].strip() if ":" in first else ""
    lines = ([inline] if inline else []) + doc.paragraphs[doc.recipients_at + 1 :]
    found: list[str] = []
    for line in lines:
        folded = fold(unmark(line))
        if re.match(r"luu\s*:", folded) or folded.startswith(("phu luc", "luu vt")):
            break
        bullet = marker(line) == "bullet"
        if not bullet and not line.rstrip().endswith(";"):
            if line.upper() == line or re.match(r"^(?:kt|tm|q|tl|tuq)\s*\.", folded):
                continue  # the signer block beside the list: "GIÁM ĐỐC", "KT. GIÁM ĐỐC"
            break
        name = re.sub(r"\s*[;,.]+$", "", unmark(line)).strip()
        if name and name not in found:
            found.append(name)
    if not found:
        plan.problems.append("Phần “Nơi nhận” không có dòng nào.")
    plan.recipients = found


def _find_period(doc: Doc, section: range, year: int | None, plan: ParsedPlan) -> set[int]:
    """Set the period; return the indices of the paragraphs that state it."""
    candidates = []
    for i, p in enumerate(doc.paragraphs):
        if doc.plan_heading is not None and i <= doc.plan_heading + 1:
            continue  # the header and the title's "(15/10/1930-15/10/2023)"
        for pattern in (PERIOD, PERIOD_BARE):
            for m in pattern.finditer(p):
                before = fold(p[: m.start()])[-80:]
                keyword = bool(re.search(r"thoi gian|bat dau", before + fold(p)[:40]))
                other = "vi nguoi ngheo" in before  # the "Vì người nghèo" month runs beside it
                candidates.append((other or not keyword, i not in section, i, m, "range"))
        for m in PERIOD_MONTH.finditer(p):
            candidates.append((False, i not in section, i, m, "month"))
    if not candidates:
        plan.problems.append(
            "Không tìm thấy thời gian thực hiện (câu “từ ngày … đến ngày …” trong mục Nội dung "
            "hoặc Thời gian)."
        )
        return set()
    _, _, index, m, kind = min(candidates, key=lambda c: (c[0], c[1], c[2]))
    if kind == "month":
        month, y = int(m.group("m")), int(m.group("y"))
        if not 1 <= month <= 12:
            plan.problems.append(f"Tháng không hợp lệ: “{m.group(0)}”.")
            return {index}
        start, end = date(y, month, 1), date(y, month, calendar.monthrange(y, month)[1])
    else:
        first, last = day_of(m, "a"), day_of(m, "b")
        what = "thời gian thực hiện"
        end = last.resolve(first.year or year, plan.problems, what)
        start = first.resolve(last.year or year, plan.problems, what)
        if start and end and start > end and first.year is None:  # "từ 15/12 đến 15/01/2024"
            start = date(start.year - 1, start.month, start.day)
    if start and end and start > end:
        plan.problems.append(
            f"Thời gian thực hiện không hợp lệ: ngày bắt đầu {start:%d/%m/%Y} sau ngày kết thúc "
            f"{end:%d/%m/%Y}."
        )
        return {index}
    if start and end:
        plan.period_start, plan.period_end = start, end
    return {index}


# Who a report goes to: the words after "gửi (về)", "về", "lên", "báo cáo" …
_TO = re.compile(  # a lookahead, so that "báo cáo kết quả về Sở" also yields "về Sở"
    r"(?=\b(?:gửi(?:\s+về)?|nộp(?:\s+về)?|về|lên|cho|tới|báo\s+cáo|trình)\s+(?:cho\s+)?"
    r"(?P<body>[^,;:.()“”\"\n]{2,80}))",
    re.IGNORECASE,
)
_BODY_STOP = re.compile(
    r"\s+(?:trước|chậm|muộn|để|qua|theo|ngày|hạn|không|xong|đúng|trong|sau|vào|tổng|kết|"
    r"gửi|tại|đồng|bằng|và\s+(?:các|gửi)|thời)\b.*$",
    re.IGNORECASE,
)


def _body_kind(body: str) -> str | None:
    folded = fold(body)
    if re.search(r"\b(?:tinh|thanh) uy\b", folded) or folded.startswith(
        ("ban dan van", "ban tuyen giao va dan van")
    ):
        return "province"
    if re.match(r"(?:so|van phong|phong|lanh dao so|giam doc|ban giam doc)\b", folded):
        return "agency"
    if re.match(r"(?:ubnd|uy ban nhan dan|dang uy|ban tuyen giao|hoi dong)", folded):
        return "other"
    if body.startswith(("Bộ ", "Ban Chỉ đạo", "Ban chỉ đạo")):
        return "other"
    return None


def _recipient_of(segment: str) -> tuple[str | None, str | None]:
    """(kind, body) of the last recipient named in ``segment``; kind None if none is."""
    found: tuple[str | None, str | None] = (None, None)
    for m in _TO.finditer(segment):
        body = _BODY_STOP.sub("", m.group("body")).strip()
        kind = _body_kind(body)
        if kind:
            found = (kind, body)
    return found


@dataclass
class _Deadline:
    index: int  # paragraph
    day: Day
    kind: str | None  # "province", "other" (UBND tỉnh, Đảng ủy khối…) or None (not said)
    body: str | None
    about_results: bool  # the clause speaks of "kết quả", "sơ kết", "tổng kết"


def _deadlines(doc: Doc) -> tuple[list[_Deadline], list[Day]]:
    """Report deadlines in the plan, and the units' deadlines to the Sở (apart)."""
    found: list[_Deadline] = []
    unit_level: list[Day] = []
    start = doc.plan_heading + 2 if doc.plan_heading is not None else 0
    for i in range(start, len(doc.paragraphs)):
        for clause in re.split(r"(?<=[;.])\s+(?=\S)", doc.paragraphs[i]):
            folded = fold(clause)
            if "bao cao" not in folded and "gui" not in folded:
                continue
            matches = list(DEADLINE.finditer(clause))
            for k, m in enumerate(matches):
                # The recipient is named before the date ("gửi về Ban … trước ngày …") or,
                # failing that, after it ("Trước ngày …, Văn phòng gửi Ban …").
                before = clause[matches[k - 1].end() if k else 0 : m.start()]
                after = clause[m.end() : matches[k + 1].start() if k + 1 < len(matches) else None]
                kind, body = _recipient_of(before)
                if kind is None:
                    kind, body = _recipient_of(after)
                day = day_of(m, "a")
                if kind == "agency":
                    unit_level.append(day)
                else:
                    results = bool(re.search(r"ket qua|so ket|tong ket", folded))
                    found.append(_Deadline(i, day, kind, body, results))
    return found, unit_level


def _find_deadline(doc: Doc, year: int | None, plan: ParsedPlan) -> set[int]:
    """Set the report deadline (the one to the provincial Ban); return where it is stated."""
    found, unit_level = _deadlines(doc)
    if not found:
        hint = ""
        if unit_level:
            hint = (
                f" Chỉ thấy hạn các đơn vị báo cáo về Sở ({unit_level[0].text}); hạn đó không "
                "phải hạn Sở báo cáo cấp trên."
            )
        plan.problems.append(
            "Không tìm thấy hạn gửi báo cáo kết quả về Ban Dân vận Tỉnh ủy (câu “… gửi về Ban "
            "Dân vận Tỉnh ủy trước ngày …”)." + hint
        )
        return set()
    rank = {"province": 0, "other": 1, None: 2}
    best = min(rank[d.kind] for d in found)
    chosen = [d for d in found if rank[d.kind] == best]
    if len(chosen) > 1 and any(d.about_results for d in chosen):
        chosen = [d for d in chosen if d.about_results]  # the result report, not an interim one
    if len(chosen) > 1 and len({(d.day.day, d.day.month, d.day.year) for d in chosen}) > 1:
        dates = ", ".join(d.day.text for d in chosen)
        plan.problems.append(
            f"Có nhiều hạn báo cáo ({dates}) nhưng không rõ hạn nào là hạn gửi báo cáo kết quả về "
            "Ban Dân vận Tỉnh ủy; nhập hạn báo cáo trong bản nháp."
        )
        return {d.index for d in chosen}
    deadline_at = chosen[0]
    day, body = deadline_at.day, deadline_at.body
    base = plan.period_end.year if plan.period_end else year
    deadline = day.resolve(base, plan.problems, "hạn báo cáo")
    if deadline and day.year is None and plan.period_end and deadline < plan.period_end:
        deadline = date(deadline.year + 1, deadline.month, deadline.day)  # "trước 05/01"
    plan.report_deadline = deadline
    if body is None:
        plan.problems.append(
            f"Câu hạn báo cáo ({day.text}) không nói báo cáo gửi cơ quan nào; kiểm tra nơi nhận "
            "báo cáo trong bản nháp."
        )
    else:
        plan.report_recipient = _canonical_body(body, plan.recipients)
        if deadline_at.kind == "other":
            plan.problems.append(
                f"Hạn báo cáo {day.text} là hạn gửi {plan.report_recipient}, không phải Ban Dân "
                "vận Tỉnh ủy; kiểm tra lại trong bản nháp."
            )
    if deadline and plan.period_start and deadline < plan.period_start:
        plan.problems.append(
            f"Hạn báo cáo {deadline:%d/%m/%Y} trước ngày bắt đầu {plan.period_start:%d/%m/%Y}."
        )
    return {deadline_at.index}


def _canonical_body(body: str, recipients: list[str]) -> str:
    """The body as the "Nơi nhận" list writes it, else with "Tỉnh ủy" capitalised."""
    body = re.sub(r"\s+", " ", body).strip()
    for line in recipients:
        if fold(line) == fold(body):
            return line
    return re.sub(r"\btỉnh ủy\b", "Tỉnh ủy", body)


def _content_items(doc: Doc, section: range | None, skip: set[int], plan: ParsedPlan) -> None:
    if section is None:
        plan.problems.append("Không tìm thấy mục “II. Nội dung” của kế hoạch.")
        return
    rows = []
    for i in section:
        p, kind = doc.paragraphs[i], marker(doc.paragraphs[i])
        if fold(unmark(p)).startswith("thoi gian"):
            continue  # "Thời gian thực hiện: …" is the period, not a content item
        if i in skip and kind in ("plain", "bullet"):
            continue  # the sentences giving the period and the deadline
        rows.append((i, kind, p))
    plan.content_items = _items_of(rows)
    if not plan.content_items:
        plan.problems.append("Mục “II. Nội dung” không có nội dung nào.")


def _items_of(rows: list[tuple[int, str, str]]) -> list[str]:
    kinds = [kind for _, kind, _ in rows]
    for top in ("number", "letter"):
        if top in kinds:
            tops = [(i, t) for i, k, t in rows if k == top]
            if len(tops) == 1 and fold(unmark(tops[0][1])).startswith("noi dung"):
                inner = [r for r in rows if r[0] > tops[0][0] and r[1] != top]
                return _items_of(inner)
            return [tidy_item(t) for _, t in tops]
    plain = [t for _, k, t in rows if k == "plain"]
    bullets = [t for _, k, t in rows if k == "bullet"]
    if bullets and all(t.rstrip().endswith(":") for t in plain):
        return [tidy_item(t) for t in bullets]  # "Tổ chức các hoạt động sau:" + bullets
    items = []
    for k, (_, kind, text) in enumerate(rows):
        following = rows[k + 1][1] if k + 1 < len(rows) else None
        if kind != "plain" or (text.rstrip().endswith(":") and following == "plain"):
            continue  # a bullet of detail, or "… như sau:" introducing the items
        if tidy_item(text):
            items.append(tidy_item(text))
    return items


_DAY_WORD = re.compile(r"\bngày\b", re.IGNORECASE)
_YEARS_BEFORE = re.compile(r"(\d{1,3})\s+năm\s*$", re.IGNORECASE)


def _observances(doc: Doc, section: range | None, year: int | None, plan: ParsedPlan) -> None:
    indices = list(section) if section is not None else []
    found = _observances_in(doc, indices, year, plan)
    if not found:
        start = doc.plan_heading + 1 if doc.plan_heading is not None else 0
        found = _observances_in(doc, range(start, len(doc.paragraphs)), year, plan)
    anniversaries = _observances_in(doc, range(len(doc.paragraphs)), year, plan, quiet=True)
    for obs in found:
        if obs.years is None:
            for other in anniversaries:
                if other.years and other.date == obs.date and _same_day_name(other, obs):
                    obs.years, obs.founding_year = other.years, other.founding_year
                    break
    plan.observances = sorted(found, key=lambda o: o.date)
    if not found:
        plan.problems.append(
            "Không tìm thấy ngày kỷ niệm nào (dạng “ngày … (15/10)” trong mục Nội dung)."
        )
        return
    missing = [o.name for o in plan.observances if o.years is None]
    if missing:
        plan.problems.append(
            "Kế hoạch không ghi số năm kỷ niệm của: " + "; ".join(missing) + ". Bổ sung năm thành "
            "lập trong bản nháp nếu cần."
        )


def _core_name(name: str) -> str:
    return re.sub(r"^(?:ngay |ky niem \d+ nam )+", "", fold(name)).removeprefix("thanh lap ")


def _same_day_name(a: ParsedObservance, b: ParsedObservance) -> bool:
    x, y = _core_name(a.name), _core_name(b.name)
    return bool(x and y) and (x in y or y in x)


def _observances_in(
    doc: Doc, indices, year: int | None, plan: ParsedPlan, *, quiet: bool = False
) -> list[ParsedObservance]:
    """The observances named in these paragraphs: "ngày … (15/10)" or "15/10: Ngày …"."""
    out: list[ParsedObservance] = []
    problems: list[str] = []

    def add(name: str, years: int | None, m: re.Match) -> None:
        obs = _observance(name, years, day_of(m, "a"), day_of(m, "b"), year, problems)
        if obs and not any(o.date == obs.date and fold(o.name) == fold(obs.name) for o in out):
            out.append(obs)

    for i in indices:
        p = doc.paragraphs[i]
        line = DATED_LINE.match(unmark(p))
        if line:
            name = line.group("name").strip(" ;.,")
            if re.search(r"ngay|ky niem|thanh lap|truyen thong|giai phong", fold(name)):
                years = _YEARS_PREFIX.match(name)
                add(name[years.end() :] if years else name, _int(years), line)
            continue
        previous_end = 0
        for m in OBSERVANCE_DATE.finditer(p):
            segment = p[previous_end : m.start()]
            previous_end = m.end()
            days = list(_DAY_WORD.finditer(segment))
            if days:  # the name runs from the last "ngày" before the bracket
                years = _YEARS_BEFORE.search(segment[: days[-1].start()])
                add(segment[days[-1].start() :], _int(years), m)
    if not quiet:
        plan.problems.extend(p for p in problems if p not in plan.problems)
    return out


_YEARS_PREFIX = re.compile(r"(?:kỷ|kỉ)\s+niệm\s+(\d{1,3})\s+năm\s+", re.IGNORECASE)


def _int(match: re.Match | None) -> int | None:
    return int(match.group(1)) if match else None


def _observance(
    name: str, years: int | None, first: Day, last: Day | None, year: int | None, problems
) -> ParsedObservance | None:
    """One observance; "(15/10/1930-15/10/2023)" or "(14/10/1930)" give its founding year."""
    name = re.sub(r"\s+", " ", name).strip(" ,;:–-")
    if len(name) < 8:
        return None
    founding = None
    if last is not None:  # "(15/10/1930-15/10/2023)": an anniversary, not a span of days
        if not (first.year and last.year and first.year < last.year):
            return None
        when, founding = last.resolve(year, problems), first.year
    elif first.year and year and first.year < year:  # "(10/10/1954)": the founding date
        founding = first.year
        when = Day(first.day, first.month, year, first.text).resolve(year, problems)
    else:
        when = first.resolve(year, problems)
    if when is None:
        return None
    if years is None and founding and founding < when.year:
        years = when.year - founding
    return ParsedObservance(
        name=name[0].upper() + name[1:],
        date=when,
        years=years,
        founding_year=when.year - years if years else None,
    )


def _context_year(plan: ParsedPlan, header_year: int | None) -> int | None:
    if plan.period_start:
        return plan.period_start.year
    if plan.plan_date:
        return plan.plan_date.year
    if header_year:
        return header_year
    found = re.findall(r"\b(20\d\d)\b", plan.title or "")
    return int(found[-1]) if found else None


def parse_plan(text: str) -> ParsedPlan:
    """Read a plan's text (from ``extract_text`` or pasted) into a ``ParsedPlan``."""
    plan = ParsedPlan()
    doc = read_structure(paragraphs(text or ""))
    if not doc.paragraphs:
        plan.problems.append("Văn bản kế hoạch trống.")
        return plan
    header_year = _header(doc, plan)
    _title(doc, plan)
    _recipients(doc, plan)
    content = next((h for h in doc.headings if fold(h[2]).startswith("noi dung")), None)
    content = content or next((h for h in doc.headings if h[1] == "II"), None)
    section = doc.section(content[0]) if content else None
    stated = _find_period(doc, section or range(0), _context_year(plan, header_year), plan)
    year = _context_year(plan, header_year)
    stated |= _find_deadline(doc, year, plan)
    _content_items(doc, section, stated, plan)
    _observances(doc, section, year, plan)
    return plan
