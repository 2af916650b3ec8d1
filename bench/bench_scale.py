"""Province-scale benchmark (issue 11): seed 100,000 entries, serve them with gunicorn, load
the pages with wrk, time the writes through HTTP, the report compile, signing and cold start.

    .venv/bin/python bench/bench_scale.py [--quick] [--db sqlite|postgresql|both] [--json FILE]

The data set: 5 campaigns, 200 units, 2,000 users, 100,000 entries spread over the states,
1,000 of them waiting at the office step (bulk ``insert()``, not the ORM). The server is
``gunicorn -w 2`` on this app plus one bench-only route (``/_bench/base``: a login-required
page rendering templates/base.html, the stack's own ceiling) added by ``bench_app()`` below,
not in danvan/. wrk runs 20 s per cell (``--quick``: 5 s) at 1 and 10 connections, as the
office user (the session cookie of one login). PostgreSQL is a throw-away cluster from the
machine's binaries (tests/pgserver.py: fsync=off). Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LUA = str(Path(__file__).with_name("wrk_report.lua"))
SECRET = "bench-secret-key-" + "x" * 32
CAMPAIGNS, UNITS, USERS, ENTRIES, AT_OFFICE = 5, 200, 2_000, 100_000, 1_000
WORDS = ["Tuyên truyền", "Hội nghị", "Dân vận khéo", "Tập huấn", "Thăm hỏi", "Trồng cây"]
PASSWORD = "matkhau-123"  # tests/factories.py's


# --- the app gunicorn serves ----------------------------------------------------------------


def bench_app():
    """The danvan app plus the bench-only bare route; cookies without Secure (plain HTTP)."""
    from flask import render_template
    from flask_login import login_required

    from danvan import create_app

    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})

    @app.route("/_bench/base")
    @login_required
    def bench_base():
        return render_template("base.html")

    return app


# --- seeding --------------------------------------------------------------------------------


def _app_for(url: str, instance: str):
    from danvan import create_app

    os.environ["DANVAN_INSTANCE_PATH"] = instance
    return create_app(
        {
            "TESTING": True,
            "IGNORE_INSTANCE_CONFIG": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "MAIL_SERVER": None,
        }
    )


def seed(url: str, instance: str) -> dict:
    """Migrate an empty database and fill it with the province-scale data set."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, text

    from danvan.extensions import db
    from danvan.models import Campaign, Entry, Unit, User, UserRole
    from danvan.operations import entries as ops
    from danvan.text import fold
    from danvan.workflow import EntryAction
    from tests.factories import PASSWORD_HASH, World, create_campaign

    app = _app_for(url, instance)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        started = time.perf_counter()
        world = World()
        for year in range(2023 - CAMPAIGNS + 1, 2023):
            create_campaign(world.agency, year=year)
        db.session.commit()
        # The entry whose page is measured: a real history (created, sent, approved, returned,
        # sent again, approved), waiting at the office step.
        shown = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
        ops.act(shown, EntryAction.SUBMIT, actor=world.staff_a)
        ops.act(shown, EntryAction.APPROVE, actor=world.head_a)
        ops.act(shown, EntryAction.RETURN, actor=world.office, comment="Bổ sung số liệu.")
        ops.act(shown, EntryAction.RESUBMIT, actor=world.staff_a)
        ops.act(shown, EntryAction.APPROVE, actor=world.head_a)
        db.session.commit()
        shown_id = shown.id
        base = {c.key: getattr(shown, c.key) for c in Entry.__table__.columns}
        for key in ("id", "form_token", "published_at", "published_by_id", "last_comment"):
            base.pop(key)

        db.session.execute(
            insert(Unit),
            [
                dict(
                    agency_id=world.agency.id,
                    name=f"Phòng chuyên môn số {i}",
                    abbreviation=f"P{i}",
                    is_office=False,
                    position=10 + i,
                    active=True,
                )
                for i in range(UNITS - 3)
            ],
        )
        unit_ids = [world.unit_a.id, world.unit_b.id] + list(
            db.session.scalars(select(Unit.id).where(Unit.abbreviation.like("P%")))
        )
        now = datetime.now(UTC)
        people = []
        for n in range(USERS - 11):  # World has 11
            people.append(
                dict(
                    username=f"u{n:04d}",
                    full_name=f"Cán bộ số {n}",
                    email=f"u{n:04d}@example.vn",
                    password_hash=PASSWORD_HASH,
                    unit_id=unit_ids[n % len(unit_ids)],
                    active=True,
                    must_change_password=False,
                    session_token="0",
                    created_at=now,
                )
            )
        db.session.execute(insert(User), people)
        users = db.session.execute(
            select(User.id, User.unit_id, User.username).where(User.username.like("u%"))
        ).all()
        db.session.execute(
            insert(UserRole),
            [
                dict(user_id=u.id, role="unit_head" if int(u.username[1:]) < 200 else "staff")
                for u in users
            ],
        )
        authors: dict[int, list[int]] = {}
        for u in users:
            authors.setdefault(u.unit_id, []).append(u.id)
        campaigns = db.session.execute(
            select(Campaign.id, Campaign.year).order_by(Campaign.year)
        ).all()
        items = {
            c.id: [i.id for i in db.session.get(Campaign, c.id).content_items] for c in campaigns
        }
        unit_names = dict(db.session.execute(select(Unit.id, Unit.name)).all())
        rows, counts = [], {}
        for i in range(ENTRIES - 1):
            campaign = campaigns[i % CAMPAIGNS]
            unit_id = unit_ids[i % len(unit_ids)]
            title = f"{WORDS[i % len(WORDS)]} {'dân vận' if i % 3 == 0 else 'cơ sở'} số {i}"
            day = date(campaign.year, 10, 1 + i % 28)
            row = dict(
                base,
                campaign_id=campaign.id,
                unit_id=unit_id,
                author_id=authors[unit_id][i % len(authors[unit_id])],
                content_item_id=items[campaign.id][i % 2],
                observance_id=None,
                title=title,
                date_from=day,
                date_to=day,
                result="Kết quả tốt, người dân đồng tình.",
                search_text=fold(
                    f"{title} {base['place']} {base['activity_form']} "
                    f"Kết quả tốt, người dân đồng tình. {unit_names[unit_id]}"
                ),
                created_at=now - timedelta(seconds=2 * (ENTRIES - i)),
                updated_at=now - timedelta(seconds=ENTRIES - i),
                version=3,
                state="approved",
                step=None,
                step_kind=None,
                step_user_id=None,
                returned_step=None,
                approvals_since_submit=2,
            )
            current = campaign.year == 2023
            k = i // CAMPAIGNS  # index within the campaign
            if current and k < AT_OFFICE - 1:
                row.update(state="pending", step=1, step_kind="office", approvals_since_submit=1)
            elif current and k < 3 * AT_OFFICE:
                row.update(state="pending", step=0, step_kind="unit_head", approvals_since_submit=0)
            elif current and k < 6 * AT_OFFICE:
                row.update(state="draft", chain=None, approvals_since_submit=0, version=1)
            elif current and k < 7 * AT_OFFICE:
                row.update(state="returned", returned_step=0, approvals_since_submit=0)
            elif current and k < 7 * AT_OFFICE + 300:
                row.update(state="withdrawn", approvals_since_submit=0)
            elif not current and k % 2:
                row.update(state="signed")
            counts[row["state"]] = counts.get(row["state"], 0) + 1
            rows.append(row)
            if len(rows) == 5000:
                db.session.execute(insert(Entry), rows)
                rows = []
        if rows:
            db.session.execute(insert(Entry), rows)
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        seeded = time.perf_counter() - started
        total = db.session.scalar(select(db.func.count()).select_from(Entry))
        at_office = db.session.scalar(
            select(db.func.count()).where(Entry.state == "pending", Entry.step_kind == "office")
        )
        db.engine.dispose()
    return {
        "seconds": round(seeded, 1),
        "entries": total,
        "at_office": at_office,
        "states": counts,
        "shown_id": shown_id,
        "campaign_id": world_campaign_id(url),
        "office": "vp",
        "staff": "cv.a",
    }


def world_campaign_id(url: str) -> int:
    """The current (2023) campaign's id."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT id FROM campaign WHERE year = 2023")).scalar_one()
    engine.dispose()
    return value


# --- serving and measuring -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, instance: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DANVAN_SECRET_KEY=SECRET,
        DANVAN_DEMO_MODE="0",
        DANVAN_INSTANCE_PATH=instance,
    )
    return env


def start_gunicorn(target: str, url: str, instance: str, port: int) -> subprocess.Popen:
    cmd = [GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT)]
    cmd += ["--timeout", "200", target]
    return subprocess.Popen(
        cmd,
        env=server_env(url, instance),
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(instance, "gunicorn.log"), "ab"),  # noqa: SIM115
    )


def wait_up(port: int, timeout: float = 60) -> float:
    """Seconds until GET /dang-nhap answers 200."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/dang-nhap", timeout=5) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("gunicorn did not answer")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def login(base: str, username: str):
    """A requests session logged in as ``username``, its Cookie header and a CSRF token."""
    import requests

    s = requests.Session()
    token = CSRF.search(s.get(f"{base}/dang-nhap").text).group(1)
    r = s.post(
        f"{base}/dang-nhap",
        data={"csrf_token": token, "username": username, "password": PASSWORD},
        allow_redirects=False,
    )
    assert r.status_code == 302, (r.status_code, r.text[:500])
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    token = CSRF.search(s.get(f"{base}/viec-can-xu-ly").text).group(1)
    return s, cookie, token


def wrk(url: str, cookie: str, connections: int, seconds: int) -> dict:
    """req/s, p50, p95 (ms) and errors of one wrk cell."""
    cmd = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "30s", "--latency", "-s", LUA, "-H", f"Cookie: {cookie}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    requests_, duration, p50, p95, p99, errors = (int(v) for v in line.split()[1:])
    return {
        "rps": requests_ / (duration / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "requests": requests_,
        "errors": errors,
    }


def office_waiting(url: str, limit: int, skip: int, exclude: int) -> list[tuple[int, int]]:
    """(id, version) of entries waiting at the office step, newest first."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, version FROM entry WHERE state = 'pending' AND step_kind = 'office' "
                "AND id != :x ORDER BY id DESC LIMIT :n OFFSET :o"
            ),
            {"x": exclude, "n": limit, "o": skip},
        ).all()
    engine.dispose()
    return [(r.id, r.version) for r in rows]


def parallel_posts(posts: list, cookie: str, threads: int = 10) -> tuple[float, int]:
    """POST every (url, data) with ``threads`` clients; (requests per second, failures)."""
    import requests

    def one(item):
        url, data, expected = item
        session = requests.Session()
        r = session.post(url, data=data, headers={"Cookie": cookie}, allow_redirects=False)
        ok = r.status_code == 303 and expected in r.headers.get("Location", "")
        return ok

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, posts))
    elapsed = time.perf_counter() - start
    return len(posts) / elapsed, results.count(False)


def writes(base: str, url: str, info: dict, quick: bool) -> dict:
    """Create entries, approve entries one by one, then bulk-approve 100, through HTTP."""
    _, staff_cookie, staff_token = login(base, info["staff"])
    _, office_cookie, office_token = login(base, info["office"])
    n = 200 if quick else 500
    create_url = f"{base}/ke-hoach/{info['campaign_id']}/hoat-dong/moi"
    form = {
        "csrf_token": staff_token,
        "content_item_id": info["content_item_id"],
        "title": "Hội nghị tuyên truyền công tác dân vận qua HTTP",
        "date_from": "12/10/2023",
        "date_to": "12/10/2023",
        "place": "Hội trường Sở",
        "activity_form": "Hội nghị",
        "observance_id": "0",
        "participants_officials": "40",
        "participants_citizens": "15",
        "amount_vnd": "1.234.500",
        "result": "Quán triệt đầy đủ.",
    }
    posts = [
        (create_url, dict(form, form_token=secrets.token_urlsafe(24)), "/hoat-dong/")
        for _ in range(n)
    ]
    create_rps, create_failed = parallel_posts(posts, staff_cookie)
    approve_n = 200 if quick else 400
    todo = office_waiting(url, approve_n, 0, info["shown_id"])
    posts = [
        (
            f"{base}/hoat-dong/{i}/thao-tac/approve",
            {"csrf_token": office_token, "version": str(v), "comment": ""},
            f"/hoat-dong/{i}",
        )
        for i, v in todo
    ]
    approve_rps, approve_failed = parallel_posts(posts, office_cookie)
    batch = office_waiting(url, 100, 0, info["shown_id"])
    data = [("csrf_token", office_token)] + [("entry_ids", str(i)) for i, _ in batch]
    data += [(f"v_{i}", str(v)) for i, v in batch]
    import requests

    start = time.perf_counter()
    r = requests.post(
        f"{base}/viec-can-xu-ly/duyet-nhieu",
        data=data,
        headers={"Cookie": office_cookie},
        allow_redirects=False,
    )
    bulk_s = time.perf_counter() - start
    left = office_waiting(url, 10_000, 0, info["shown_id"])
    bulk_ok = r.status_code == 303 and not ({i for i, _ in batch} & {i for i, _ in left})
    return {
        "create": {"n": n, "rps": create_rps, "failed": create_failed},
        "approve": {"n": len(todo), "rps": approve_rps, "failed": approve_failed},
        "bulk": {"n": len(batch), "seconds": bulk_s, "ok": bulk_ok},
    }


PAGES = (
    ("bare", "bare Flask route rendering base.html", "/_bench/base"),
    ("inbox", "office inbox, page 1", "/viec-can-xu-ly"),
    ("inbox_search", "inbox search “dan van”", "/viec-can-xu-ly?q=dan+van"),
    ("list_search", "entry list search “dan van”", "/hoat-dong?q=dan+van"),
    ("entry", "entry page with history", "/hoat-dong/{shown_id}"),
)


def measure(kind: str, url: str, instance: str, info: dict, quick: bool) -> dict:
    """Serve the seeded database and run every HTTP measurement against it."""
    seconds = 5 if quick else 20
    out = {"loadavg_start": Path("/proc/loadavg").read_text().strip(), "pages": {}}
    port = free_port()
    proc = start_gunicorn("wsgi:app", url, instance, port)
    try:
        out["cold_start"] = wait_up(port)
    finally:
        stop(proc)
    port = free_port()
    proc = start_gunicorn("bench.bench_scale:bench_app()", url, instance, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(port)
        _, cookie, _ = login(base, info["office"])
        import requests

        for key, _label, path in PAGES:
            page = base + path.format(**info)
            r = requests.get(page, headers={"Cookie": cookie}, allow_redirects=False)
            assert r.status_code == 200, (page, r.status_code)
            for c in (1, 10):
                wrk(page, cookie, c, 2)  # warm-up: both workers, their caches
                out["pages"][f"{key}@{c}"] = wrk(page, cookie, c, seconds)
                cell = out["pages"][f"{key}@{c}"]
                print(
                    f"  {kind:<10} {key:<13} c={c:<2} {cell['rps']:7.1f} req/s  "
                    f"p50 {cell['p50']:6.1f} ms  p95 {cell['p95']:6.1f} ms",
                    flush=True,
                )
        out["writes"] = writes(base, url, info, quick)
        print(f"  {kind:<10} writes {json.dumps(out['writes'])}", flush=True)
    finally:
        stop(proc)
    return out


def content_item_of(url: str, campaign_id: int) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT min(id) FROM content_item WHERE campaign_id = :c"), {"c": campaign_id}
        ).scalar_one()
    engine.dispose()
    return value


def run_database(kind: str, quick: bool) -> dict:
    """Seed one database of ``kind``, measure it, throw it away."""
    instance = tempfile.mkdtemp(prefix=f"danvan-bench-{kind}-")
    server = None
    try:
        if kind == "sqlite":
            url = f"sqlite:///{instance}/bench.sqlite3"
        else:
            from tests.pgserver import TempPostgres, find_bindir

            server = TempPostgres(find_bindir())
            url = server.start()
        loadavg = Path("/proc/loadavg").read_text().strip()
        info = seed(url, instance)
        info["content_item_id"] = content_item_of(url, info["campaign_id"])
        print(
            f"  {kind:<10} seeded {info['entries']:,} entries ({info['at_office']:,} at the "
            f"office step) in {info['seconds']} s",
            flush=True,
        )
        result = measure(kind, url, instance, info, quick)
        result["seed"] = info
        result["loadavg_seed"] = loadavg
        return result
    finally:
        if server:
            server.stop()
        shutil.rmtree(instance, ignore_errors=True)


# --- report compile, signing ------------------------------------------------------------------


def compile_one(n: int) -> dict:
    """Compile a report from ``n`` approved entries (fresh SQLite); seconds and peak RSS."""
    from sqlalchemy import insert

    from danvan.extensions import db
    from danvan.models import Entry
    from danvan.operations import reports as ops
    from tests.factories import World

    instance = tempfile.mkdtemp(prefix="danvan-bench-compile-")
    app = _app_for(f"sqlite:///{instance}/bench.sqlite3", instance)
    from flask_migrate import upgrade

    try:
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            world = World()
            now = datetime.now(UTC)
            rows = [
                dict(
                    campaign_id=world.campaign.id,
                    unit_id=(world.unit_a.id, world.unit_b.id)[i % 2],
                    author_id=(world.staff_a.id, world.staff_b.id)[i % 2],
                    content_item_id=world.campaign.content_items[i % 2].id,
                    title=f"Hoạt động dân vận số {i}",
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
            del rows
            gc.collect()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            ops.compile_report(world.campaign, actor=world.office)
            db.session.commit()
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            db.engine.dispose()
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return {"n": n, "seconds": seconds, "peak_rss_mb": peak / 1024, "before_mb": before / 1024}


def compiles() -> list[dict]:
    """compile_one for 100, 1,000 and 10,000 entries, each in a fresh process."""
    out = []
    for n in (100, 1_000, 10_000):
        r = subprocess.run(
            [sys.executable, __file__, "--compile-one", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(r.stdout.strip().splitlines()[-1]))
        c = out[-1]
        print(
            f"  compile {n:>6,} entries: {c['seconds']:.2f} s, peak RSS {c['peak_rss_mb']:.0f} MB "
            f"(before {c['before_mb']:.0f} MB)",
            flush=True,
        )
    return out


def signing(quick: bool) -> dict:
    """bench_signing.py's medians: docx → PDF/A, the signer's and the agency's signature."""
    script = str(Path(__file__).with_name("bench_signing.py"))
    cmd = [sys.executable, script, "--repeat", "1" if quick else "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = {}
    for name in ("docx_to_pdf", "sign_by_signer", "sign_by_agency", "validate_pdf"):
        m = re.search(rf"^{name}.*?median\s+([\d.]+) s", out, re.M)
        if m:
            found[name] = float(m.group(1))
    return found


# --- the table --------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def table(results: dict) -> str:
    """Markdown table of every figure with the bare-route ratio and the target."""
    lines = []
    for kind, r in results["databases"].items():
        pages = r["pages"]
        bare = pages["bare@1"]["rps"]
        lines.append(f"\n### {kind} (load average at start: {r['loadavg_start']})\n")
        lines.append("| measure | c | req/s | p50 ms | p95 ms | × bare (same c) | target | |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for key, label, _ in PAGES:
            for c in (1, 10):
                cell = pages[f"{key}@{c}"]
                ratio = (
                    cell["rps"] / bare
                    if c == 1
                    else pages[f"{key}@10"]["rps"] / (pages["bare@10"]["rps"])
                )
                target, ok = "", None
                if key in ("inbox", "inbox_search", "list_search") and c == 10:
                    target, ok = "p95 < 50 ms", cell["p95"] < 50
                elif key in ("inbox", "entry") and c == 1:
                    target, ok = "≥ 0.5× bare", ratio >= 0.5
                errors = f" ({cell['errors']} errors)" if cell["errors"] else ""
                lines.append(
                    f"| {label}{errors} | {c} | {cell['rps']:.1f} | {cell['p50']:.1f} | "
                    f"{cell['p95']:.1f} | {ratio:.2f} | {target} | "
                    f"{'' if ok is None else mark(ok)} |"
                )
        w = r["writes"]
        for key, label in (("create", "create entry (HTTP, 10 clients)"), ("approve", "approve")):
            fail = f", {w[key]['failed']} failed" if w[key]["failed"] else ""
            lines.append(
                f"| {label}, {w[key]['n']} POSTs{fail} | 10 | {w[key]['rps']:.1f} | | | | "
                f"≥ 100/s | {mark(w[key]['rps'] >= 100 and not w[key]['failed'])} |"
            )
        b = w["bulk"]
        lines.append(
            f"| bulk approve of {b['n']} (one POST) | 1 | {b['seconds']:.2f} s | | | | < 2 s | "
            f"{mark(b['seconds'] < 2 and b['ok'])} |"
        )
        cold = r["cold_start"]
        lines.append(f"| cold start to first response (gunicorn -w 2) | | {cold:.2f} s |")
        s = r["seed"]
        lines.append(
            f"| seed {s['entries']:,} entries | | {s['seconds']:.1f} s | | | | < 120 s | "
            f"{mark(s['seconds'] < 120)} |"
        )
    if results.get("compile"):
        lines.append("\n### Report compile (SQLite, fresh process each)\n")
        lines.append("| entries | seconds | peak RSS MB | RSS before MB |")
        lines.append("|---|---|---|---|")
        for c in results["compile"]:
            lines.append(
                f"| {c['n']:,} | {c['seconds']:.2f} | {c['peak_rss_mb']:.0f} | "
                f"{c['before_mb']:.0f} |"
            )
    if results.get("signing"):
        lines.append("\n### PDF render and sign (bench_signing.py medians)\n")
        lines.append("| step | seconds |")
        lines.append("|---|---|")
        for name, value in results["signing"].items():
            lines.append(f"| {name} | {value:.3f} |")
    return "\n".join(lines)


def profile(folder: str, pages: tuple[str, ...], repeat: int = 20) -> None:
    """cProfile pages in-process (test client) on a seeded SQLite file kept in ``folder``."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from danvan.extensions import db

    os.makedirs(folder, exist_ok=True)
    url = f"sqlite:///{folder}/bench.sqlite3"
    info_path = os.path.join(folder, "info.json")
    if not os.path.exists(info_path):
        Path(info_path).write_text(json.dumps(seed(url, folder)))
    info = json.loads(Path(info_path).read_text())
    app = _app_for(url, folder)
    app.config.update(WTF_CSRF_ENABLED=False, SESSION_COOKIE_SECURE=False)
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": "vp", "password": PASSWORD})
    assert response.status_code == 302
    for path in pages:
        path = path.format(**info)
        assert client.get(path).status_code == 200, path
        sql = {"n": 0, "s": 0.0}
        with app.app_context():
            engine = db.engine

        def before(conn, cursor, statement, params, context, executemany):
            context._bench_start = time.perf_counter()

        def after(conn, cursor, statement, params, context, executemany, sql=sql):
            sql["n"] += 1
            sql["s"] += time.perf_counter() - context._bench_start

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for _ in range(repeat):
            client.get(path)
        profiler.disable()
        wall = (time.perf_counter() - start) / repeat * 1000
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        print(
            f"\n== {path}: {wall:.1f} ms per request, {sql['n'] / repeat:.0f} SQL statements, "
            f"{sql['s'] / repeat * 1000:.1f} ms in SQL (cursor.execute) per request"
        )
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    """Benchmark entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s per wrk cell instead of 20 s")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument("--no-extras", action="store_true", help="skip compile and signing")
    parser.add_argument("--compile-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile the pages in-process on a seeded SQLite file kept in DIR, then stop",
    )
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, tuple(path for _, _, path in PAGES[1:]))
        return
    if args.compile_one:
        print(json.dumps(compile_one(args.compile_one)))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk (see .ci/system-packages.tsv)")
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "databases": {},
    }
    for kind in kinds:
        results["databases"][kind] = run_database(kind, args.quick)
    if not args.no_extras:
        results["compile"] = compiles()
        results["signing"] = signing(args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(table(results))


if __name__ == "__main__":
    main()
