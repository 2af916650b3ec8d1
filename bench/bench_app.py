"""Application-level benchmark: compile a report from N approved entries stored in SQLite, and
render the office's entry list; prints seconds, SQL statement counts and ratios per 10×."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from danvan import create_app  # noqa: E402
from danvan.extensions import db  # noqa: E402
from danvan.models import Entry  # noqa: E402
from danvan.operations import reports as ops  # noqa: E402
from tests.factories import World  # noqa: E402


def run(n: int) -> tuple[float, int, float, int]:
    path = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    os.environ["DANVAN_INSTANCE_PATH"] = os.path.dirname(path)
    app = create_app(
        {
            "TESTING": True,
            "IGNORE_INSTANCE_CONFIG": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        world = World()
        now = datetime.now(UTC)
        units = [world.unit_a.id, world.unit_b.id]
        authors = [world.staff_a.id, world.staff_b.id]
        rows = [
            dict(
                campaign_id=world.campaign.id,
                unit_id=units[i % 2],
                author_id=authors[i % 2],
                content_item_id=world.campaign.content_items[i % 2].id,
                title=f"Hoạt động dân vận số {i} & <kiểm thử>",
                date_from=date(2023, 10, 1 + i % 28),
                date_to=date(2023, 10, 1 + i % 28),
                place="Hội trường Sở",
                activity_form="Hội nghị",
                participants_officials=10 + i % 7,
                participants_citizens=i % 50,
                amount_vnd=(i % 5) * 100_000,
                gifts="",
                result="Kết quả tốt, người dân đồng tình. " * 3,
                state="approved",
                approvals_since_submit=2,
                search_text="",
                version=1,
                created_at=now,
                updated_at=now,
                outside_period_confirmed=False,
            )
            for i in range(n)
        ]
        db.session.execute(insert(Entry), rows)
        db.session.commit()
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
        start = time.perf_counter()
        ops.compile_report(world.campaign, actor=world.office)
        db.session.commit()
        compile_s = time.perf_counter() - start
        compile_q = len(statements)
        client = app.test_client()
        client.post("/dang-nhap", data={"username": "vp", "password": "matkhau-123"})
        statements.clear()
        start = time.perf_counter()
        assert client.get("/hoat-dong").status_code == 200
        list_s = time.perf_counter() - start
        return compile_s, compile_q, list_s, len(statements)


def main() -> None:
    previous = None
    for n in (100, 1_000, 10_000):
        compile_s, compile_q, list_s, list_q = run(n)
        ratio = f"  ×{compile_s / previous:.1f} per 10× entries" if previous else ""
        print(f"compile report {n:>6,} entries: {compile_s:6.2f} s, {compile_q:3d} SQL{ratio}")
        print(f"office entry list ({min(n, 500)} shown): {list_s:6.3f} s, {list_q:3d} SQL")
        previous = compile_s


if __name__ == "__main__":
    main()
