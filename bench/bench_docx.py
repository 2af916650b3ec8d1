"""Benchmark the .docx renderers: report with 100 / 1,000 / 10,000 entries, register 1,000 rows.

Run: python bench/bench_docx.py   — prints seconds, size and the time ratio per 10× entries
(close to 10 means linear; the idiomatic python-docx API gives ~30× per 10×).
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from danvan.documents.model import (  # noqa: E402
    AgencyInfo,
    ContentGroup,
    EntryLine,
    RegisterData,
    RegisterRow,
    ReportData,
    SignerBlock,
    UnitGroup,
    UnitStats,
)
from danvan.documents.register_docx import render_register_docx  # noqa: E402
from danvan.documents.report_docx import render_report_docx  # noqa: E402

AGENCY = AgencyInfo("UBND TỈNH HÀ NAM", "SỞ XÂY DỰNG", "SXD", "Hà Nam")
CONTENTS = (
    "Tuyên truyền kỷ niệm các ngày lễ tháng 10",
    "Dân vận chính quyền, cải cách hành chính",
    "Phong trào thi đua “Dân vận khéo”",
    "An sinh xã hội, Quỹ “Vì người nghèo”",
    "Hoạt động của công đoàn, đoàn thanh niên, nữ công",
)
UNITS = 40


def make_report(entries: int) -> ReportData:
    """A report with `entries` entries spread over 5 content items and 40 units."""
    lines = [
        EntryLine(
            title=f"Tổ chức hoạt động tuyên truyền số {i} về công tác dân vận",
            unit_name=f"Đơn vị số {i % UNITS + 1}",
            date_from=date(2023, 10, 1) + timedelta(days=i % 20),
            date_to=date(2023, 10, 2) + timedelta(days=i % 20),
            place="Hội trường Sở Xây dựng",
            activity_form="Hội nghị",
            observance="Ngày Dân vận cả nước (15/10)" if i % 3 == 0 else None,
            participants_officials=30 + i % 17,
            participants_citizens=i % 50,
            amount_vnd=(i % 7) * 250_000 or None,
            result="Nâng cao nhận thức của cán bộ, công chức, viên chức và người lao động",
            model_name="Dân vận khéo trong cải cách hành chính" if i % 11 == 0 else None,
        )
        for i in range(entries)
    ]
    groups = []
    for c, title in enumerate(CONTENTS):
        mine = [e for i, e in enumerate(lines) if i % len(CONTENTS) == c]
        units = sorted({e.unit_name for e in mine})
        groups.append(
            ContentGroup(
                title,
                tuple(UnitGroup(u, tuple(e for e in mine if e.unit_name == u)) for u in units),
            )
        )
    people = sum(e.participants_officials + e.participants_citizens for e in lines)
    money = sum(e.amount_vnd or 0 for e in lines)
    stats = tuple(UnitStats(f"Đơn vị số {u + 1}", 1, 2, 1, 1, 250_000, 1, 0) for u in range(UNITS))
    return ReportData(
        agency=AGENCY,
        doc_symbol="BC-SXD",
        number="05",
        issued_date=date(2023, 11, 5),
        draft_year=2023,
        is_draft=False,
        subject="Kết quả triển khai Tháng cao điểm thực hiện công tác dân vận năm 2023",
        basis="Thực hiện Kế hoạch số 112/KH-SXD ngày 09/10/2023 của Sở Xây dựng, Sở Xây dựng "
        "báo cáo kết quả như sau:",
        section_leadership="Sở Xây dựng ban hành kế hoạch.\nVăn phòng Sở đăng tin trên Website.",
        content_groups=tuple(groups),
        total_activities=len(lines),
        total_participants=people,
        total_amount_vnd=money,
        section_strengths="Thiết thực, đúng kế hoạch.",
        section_weaknesses="Một số đơn vị báo cáo chậm.",
        section_proposals="Đề nghị tiếp tục hướng dẫn.",
        recipients=("Ban Dân vận Tỉnh ủy", "Website của Sở"),
        signer=SignerBlock("GIÁM ĐỐC", None, "Nguyễn Văn An"),
        appendix=stats,
    )


def make_register(rows: int) -> RegisterData:
    """A register with `rows` outgoing documents."""
    return RegisterData(
        agency=AGENCY,
        year=2023,
        rows=tuple(
            RegisterRow(
                number_symbol=f"{i:02d}/BC-SXD",
                doc_date=date(2023, 1, 1) + timedelta(days=i * 364 // rows),
                type_and_subject="Báo cáo kết quả triển khai Tháng cao điểm dân vận năm 2023",
                signer="Nguyễn Văn An",
                recipients="Ban Dân vận Tỉnh ủy; Ban Tuyên giáo Đảng ủy khối",
                archive_holder="Văn phòng Sở",
                copies=5,
                sent_date=date(2023, 1, 2) + timedelta(days=i * 364 // rows),
                received_by="Trần Thị Bình",
                note="",
            )
            for i in range(1, rows + 1)
        ),
    )


def timed(fn, arg) -> tuple[float, int]:
    """Best of three wall-clock runs (seconds) and the output size."""
    best, size = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        size = len(fn(arg))
        best = min(best, time.perf_counter() - start)
    return best, size


def main() -> None:
    """Print the timings."""
    previous = None
    for n in (100, 1_000, 10_000):
        seconds, size = timed(render_report_docx, make_report(n))
        ratio = f"  ×{seconds / previous:.1f} per 10× entries" if previous else ""
        print(f"report  {n:>6,} entries: {seconds:7.3f} s  {size / 1024:8.1f} KiB{ratio}")
        previous = seconds
    seconds, size = timed(render_register_docx, make_register(1_000))
    print(f"register {1_000:>5,} rows:    {seconds:7.3f} s  {size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
