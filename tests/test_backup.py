"""Backup while the application writes, restore into an empty database, verify-archive."""

from __future__ import annotations

import hashlib
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from danvan import create_app
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, Entry, Event, OutboxMessage, RegisterEntry
from tests.factories import signed_report


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def empty_target(backend, tmp_path):
    """(app URL, owner URL) of an empty database of the run's kind."""
    kind, app_url, owner_url = backend
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        yield url, url
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _with_database(app_url, name), _with_database(owner_url, name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _snapshot():
    """What must come back: every blob's bytes by hash, and the rows that count."""
    blobs = {
        sha: hashlib.sha256(data).hexdigest()
        for sha, data in db.session.execute(select(Blob.sha256, Blob.data))
    }
    counts = {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Entry, Event, RegisterEntry, ArchivedDocument)
    }
    return blobs, counts


def _writer(url: str, stop: threading.Event, written: list[int]) -> None:
    """The application keeps working during the backup: queue mails, one commit each."""
    engine = create_engine(url)
    with engine.connect() as conn:
        while not stop.is_set():
            conn.execute(
                OutboxMessage.__table__.insert().values(
                    recipient="a@example.vn",
                    subject="Thư",
                    body="x",
                    attempts=0,
                    created_at=func.now(),
                )
            )
            conn.commit()
            written.append(1)
    engine.dispose()


def test_backup_while_serving_then_restore_and_verify(dept, app, backend, tmp_path, empty_target):
    signed_report(dept, app, issue=True)
    blobs, counts = _snapshot()
    assert blobs and counts["archived_document"] == 1
    queued = db.session.scalar(select(func.count(OutboxMessage.id)))
    db.session.commit()
    stop, written = threading.Event(), []
    thread = threading.Thread(
        target=_writer, args=(app.config["SQLALCHEMY_DATABASE_URI"], stop, written)
    )
    thread.start()
    try:
        while len(written) < 5:  # the writer is really writing when the backup starts
            stop.wait(0.01)
        result = app.test_cli_runner().invoke(args=["danvan", "backup", str(tmp_path / "b.bak")])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "Đã sao lưu cơ sở dữ liệu" in result.output
    total_written = len(written)

    target_url, target_owner = empty_target
    restored = create_app(
        {
            **app.config,
            "SQLALCHEMY_DATABASE_URI": target_url,
            "MIGRATION_DATABASE_URL": target_owner if backend[0] == "postgresql" else None,
        }
    )
    with restored.app_context():  # the commands run on the restored app, not the test's
        runner = restored.test_cli_runner()
        result = runner.invoke(args=["danvan", "restore", str(tmp_path / "b.bak")])
        assert result.exit_code == 0, result.output
        assert "Đã phục hồi" in result.output
        assert _snapshot() == (blobs, counts)  # every file, every hash, every record
        outbox = db.session.scalar(select(func.count(OutboxMessage.id)))
        assert (
            queued + 5 <= outbox <= queued + total_written
        )  # a consistent cut of the writes in flight
        db.session.remove()
        result = runner.invoke(args=["danvan", "verify-archive"])  # as the application's role
        assert result.exit_code == 0, result.output
        assert "OK     01/BC-SXD (2023)" in result.output and "nguyên vẹn" in result.output

        # A second restore into the now full database is refused, nothing touched.
        result = runner.invoke(args=["danvan", "restore", str(tmp_path / "b.bak")])
        assert result.exit_code != 0 and "không trống" in result.output
        assert db.session.scalar(select(func.count(ArchivedDocument.id))) == 1
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(app, tmp_path, empty_target):
    target_url, target_owner = empty_target
    bogus = tmp_path / "khong-phai.bak"
    bogus.write_bytes(b"PK\x03\x04 a zip, not a backup")
    restored = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": target_url})
    with restored.app_context():
        runner = restored.test_cli_runner()
        result = runner.invoke(args=["danvan", "restore", str(bogus)])
        assert result.exit_code != 0
        assert "không phải bản sao lưu" in result.output
        result = runner.invoke(args=["danvan", "restore", str(tmp_path / "khong-co.bak")])
        assert result.exit_code != 0 and "Không có tệp" in result.output
        db.engine.dispose()
