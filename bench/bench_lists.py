"""Lists benchmark (not a test): seed N entries into a temporary SQLite file and time the
office's inbox page, an inbox search and the entry list search through the Flask test client.

    .venv/bin/python bench/bench_lists.py [N]      # N defaults to 20,000

Prints p50/p95 over 50 requests per page. A tenth of the entries wait at the office step, the
rest are approved or signed; the titles mix "dân vận" with other words.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from danvan import create_app  # noqa: E402
from danvan.extensions import db  # noqa: E402
from danvan.models import Entry  # noqa: E402
from danvan.operations import entries as ops  # noqa: E402
from danvan.text import fold  # noqa: E402
from danvan.workflow import EntryAction  # noqa: E402
from tests.factories import PASSWORD, World  # noqa: E402

REQUESTS = 50
WORDS = ["Tuyên truyền", "Hội nghị", "Dân vận khéo", "Tập huấn", "Thăm hỏi", "Trồng cây"]


def seed(world: World, n: int) -> None:
    """Bulk-insert ``n`` entries shaped like one that waits at the office step."""
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    ops.act(entry, EntryAction.APPROVE, actor=world.head_a)
    db.session.commit()
    base = {c.key: getattr(entry, c.key) for c in Entry.__table__.columns}
    base.pop("id"), base.pop("form_token")
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        title = f"{WORDS[i % len(WORDS)]} {'dân vận' if i % 3 == 0 else 'cơ sở'} số {i}"
        row = dict(base, title=title, search_text=fold(f"{title} {base['place']}"))
        row["updated_at"] = now - timedelta(seconds=n - i)
        row["date_from"] = row["date_to"] = date(2023, 10, 1 + i % 28)
        if i % 10:  # nine in ten are done with
            row.update(state="approved" if i % 2 else "signed", step=None, step_kind=None)
        rows.append(row)
        if len(rows) == 5000:
            db.session.execute(insert(Entry), rows)
            rows = []
    if rows:
        db.session.execute(insert(Entry), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(client, url: str) -> tuple[float, float]:
    """p50 and p95 in milliseconds over REQUESTS requests of ``url`` (after one warm-up)."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main(n: int) -> None:
    folder = tempfile.mkdtemp(prefix="danvan-bench-lists-")
    os.environ["DANVAN_INSTANCE_PATH"] = folder
    path = os.path.join(folder, "bench.sqlite3")
    app = create_app(
        {
            "TESTING": True,
            "IGNORE_INSTANCE_CONFIG": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "MAIL_SERVER": None,
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        world = World()
        started = time.perf_counter()
        seed(world, n)
        seeded = time.perf_counter() - started
        username = world.office.username
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    print(f"{n:,} entries seeded in {seeded:.1f} s (SQLite, {path})")
    print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
    for label, url in (
        ("office inbox, page 1", "/viec-can-xu-ly"),
        ("office inbox, page 20", "/viec-can-xu-ly?trang=20"),
        ("inbox search “dan van”", "/viec-can-xu-ly?q=dan+van"),
        ("entry list, page 1", "/hoat-dong"),
        ("entry list search “dan van”", "/hoat-dong?q=dan+van"),
        (
            "entry list search “dân vận khéo” p. 5",
            "/hoat-dong?q=d%C3%A2n+v%E1%BA%ADn+kh%C3%A9o&trang=5",
        ),
    ):
        p50, p95 = timed(client, url)
        print(f"{label:<40} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
