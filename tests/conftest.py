"""Fixtures: the app on SQLite or a real PostgreSQL (``--db``), clients, logins, SMTP.

Each test gets a freshly migrated database: on SQLite a copy of a database file migrated once
per run; on PostgreSQL the tables are truncated after each test (TRUNCATE does not fire the
append-only row triggers, which is what lets tests start clean).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import text

from danvan import create_app
from danvan.extensions import db
from danvan.keys import write_demo_keys
from tests.factories import PASSWORD, World, make_dept, require
from tests.pgserver import TempPostgres, find_bindir

# The live gunicorn server (tests/live_server.py) and Certomancer PKI (tests/pki_live.py)
# fixtures, registered before any module imports them so that their assertions are rewritten.
pytest_plugins = ["tests.live_server", "tests.pki_live"]


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        default="sqlite",
        choices=["sqlite", "postgresql"],
        help="database backend for the run",
    )


def pytest_collection_modifyitems(config, items):
    """Tests about one database's own features run only on it (deselected, not skipped)."""
    kind = config.getoption("--db")
    keep, drop = [], []
    for item in items:
        only = [m.args[0] for m in item.iter_markers("only_db")]
        (drop if only and kind not in only else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Always say how many tests were skipped and why (a quiet skip hides untested code)."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report)
        reasons[reason.removeprefix("Skipped: ")] = reasons.get(reason, 0) + 1
    terminalreporter.write_line(f"Bỏ qua {len(skipped)} phép thử (skipped: {len(skipped)}).")
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"  {count} × {reason}")


def pytest_report_header(config):
    return f"danvan database backend: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def instance_dir():
    path = tempfile.mkdtemp(prefix="danvan-instance-")
    os.environ["DANVAN_INSTANCE_PATH"] = path
    yield path
    shutil.rmtree(path, ignore_errors=True)


APP_ROLE = "danvan_app"


def _migrate(url: str, instance_dir: str, owner_url: str | None = None) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATION_DATABASE_URL": owner_url,
            "DATABASE_APP_ROLE": APP_ROLE if owner_url else None,
            "IGNORE_INSTANCE_CONFIG": True,
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


@pytest.fixture(scope="session")
def backend(request, instance_dir):
    """(kind, location, owner_url): a migrated template database for the run.

    On PostgreSQL the application connects as ``danvan_app``, a role that owns no table (as in
    production); migrations and the tests' clean-up run as the owner.
    """
    kind = request.config.getoption("--db")
    if kind == "sqlite":
        path = os.path.join(instance_dir, "template.sqlite3")
        _migrate(f"sqlite:///{path}", instance_dir)
        yield kind, path, None
        return
    owner_url = os.environ.get("TEST_DATABASE_URL")
    app_url = os.environ.get("TEST_DATABASE_APP_URL") or owner_url
    server = None
    if not owner_url:
        bindir = find_bindir()
        require(bindir is not None, "không tìm thấy PostgreSQL (initdb) trên máy")
        server = TempPostgres(bindir)
        owner_url = server.start()
        app_url = server.create_login_role(APP_ROLE)
    _migrate(app_url, instance_dir, owner_url if app_url != owner_url else None)
    yield kind, app_url, owner_url
    if server:
        server.stop()


@pytest.fixture
def db_url(backend, tmp_path):
    kind, location, _ = backend
    if kind == "sqlite":
        path = tmp_path / "danvan.sqlite3"
        shutil.copy(location, path)
        return f"sqlite:///{path}"
    return location


@pytest.fixture
def owner_url(backend, db_url):
    """The tables' owner: the migration role on PostgreSQL, the file itself on SQLite."""
    return backend[2] or db_url


@pytest.fixture
def app_config(db_url, backend):
    return {
        "TESTING": True,
        "IGNORE_INSTANCE_CONFIG": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "MIGRATION_DATABASE_URL": backend[2],
        "DATABASE_APP_ROLE": APP_ROLE if backend[2] and backend[2] != db_url else None,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
        # A failed message is due again at once (tests/test_jobs.py checks the real delays).
        "MAIL_RETRY_BASE_SECONDS": 0,
    }


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own database session
    and its own ``g`` (so Flask-Login really loads the user from the cookie every time)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # the test's own session then sees what the request committed
        return response


@pytest.fixture
def app(app_config, backend):
    app = create_app(app_config)
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        if backend[0] == "postgresql":
            from sqlalchemy import create_engine

            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            owner = create_engine(backend[2])
            with owner.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                # The hash chains start again from their genesis.
                conn.execute(
                    text(
                        "INSERT INTO chain_head (name, seq, last_hash) VALUES "
                        "('event', 0, :g), ('register_entry', 0, :g), "
                        "('archived_document', 0, :g), ('audit_log', 0, :g)"
                    ),
                    {"g": "0" * 64},
                )
            owner.dispose()
        db.engine.dispose()


@pytest.fixture(scope="session")
def key_dir(instance_dir):
    return write_demo_keys(
        instance_dir,
        agency_name="Sở Xây dựng tỉnh Hà Nam",
        people={
            "director": "Nguyễn Quang Huy - Giám đốc",
            "deputy": "Trần Thị Thu Hà - Phó GĐ",
            "agency": "Sở Xây dựng tỉnh Hà Nam",
        },
    )


@pytest.fixture
def world(app) -> World:
    return World()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """login(user) signs the test client in as that user."""

    def do_login(user, password: str = PASSWORD):
        client.post("/dang-xuat")
        response = client.post("/dang-nhap", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do_login


@pytest.fixture
def count_queries(app):
    """Context manager counting SQL statements."""

    class Counter:
        def __init__(self):
            self.n = 0

        def __enter__(self):
            sa_event.listen(db.engine, "before_cursor_execute", self._hit)
            return self

        def __exit__(self, *exc):
            sa_event.remove(db.engine, "before_cursor_execute", self._hit)

        def _hit(self, *args, **kwargs):
            self.n += 1

    return Counter


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf token in page"
    return match.group(1)


@pytest.fixture
def dept(world, app, key_dir):
    """The world with signature images, the seal and three approved entries (see factories)."""
    return make_dept(world)


# docx → PDF results of the whole run, by the .docx's SHA-256 (LibreOffice is the slow part).
_PDF_CACHE: dict[str, bytes] = {}


@pytest.fixture
def cached_conversion(monkeypatch):
    """docx → PDF once per distinct .docx for the whole run; requires LibreOffice."""
    import hashlib

    from danvan.documents import pdf as pdfmod

    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    real = pdfmod.docx_to_pdf

    def convert(docx: bytes, **kwargs) -> bytes:
        key = hashlib.sha256(docx).hexdigest()
        if key not in _PDF_CACHE:
            _PDF_CACHE[key] = real(docx, **kwargs)
        return _PDF_CACHE[key]

    monkeypatch.setattr(pdfmod, "docx_to_pdf", convert)
