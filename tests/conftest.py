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
from tests.factories import PASSWORD, World
from tests.pgserver import TempPostgres, find_bindir

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        default="sqlite",
        choices=["sqlite", "postgresql"],
        help="database backend for the run",
    )


def pytest_report_header(config):
    return f"danvan database backend: {config.getoption('--db')}"


def need(condition: bool, reason: str) -> None:
    """Skip when a system component is missing; under CI=true, fail instead."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true và thiếu thành phần: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def instance_dir():
    path = tempfile.mkdtemp(prefix="danvan-instance-")
    os.environ["DANVAN_INSTANCE_PATH"] = path
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _migrate(url: str, instance_dir: str) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "IGNORE_INSTANCE_CONFIG": True}
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


@pytest.fixture(scope="session")
def backend(request, instance_dir):
    """(kind, url): a migrated template database for the run."""
    kind = request.config.getoption("--db")
    if kind == "sqlite":
        path = os.path.join(instance_dir, "template.sqlite3")
        _migrate(f"sqlite:///{path}", instance_dir)
        yield kind, path
        return
    url = os.environ.get("TEST_DATABASE_URL")
    server = None
    if not url:
        bindir = find_bindir()
        need(bindir is not None, "không tìm thấy PostgreSQL (initdb) trên máy")
        server = TempPostgres(bindir)
        url = server.start()
    _migrate(url, instance_dir)
    yield kind, url
    if server:
        server.stop()


@pytest.fixture
def db_url(backend, tmp_path):
    kind, location = backend
    if kind == "sqlite":
        path = tmp_path / "danvan.sqlite3"
        shutil.copy(location, path)
        return f"sqlite:///{path}"
    return location


@pytest.fixture
def app_config(db_url):
    return {
        "TESTING": True,
        "IGNORE_INSTANCE_CONFIG": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
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
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
    """The world with signature images, the seal and three approved entries (see test_reports)."""
    from tests.test_reports import make_dept

    return make_dept(world)
