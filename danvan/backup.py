"""Backup and restore: one file holding the whole database, every stored file included.

Every blob (evidence, signed PDFs, .docx, .p7s, seal and signature images) is a row of the
``blob`` table, so a consistent snapshot of the database is a complete backup:

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page by
  page while the application keeps reading and writing; the file is itself a SQLite database.
- PostgreSQL: ``pg_dump --format=custom`` (one transaction, a consistent snapshot while the
  application keeps serving); restored with ``pg_restore`` into an empty database, then the
  application's role gets its privileges again (danvan/dbroles.py).

A backup restores only into the same kind of database and only into an empty one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
TIMEOUT_SECONDS = 3600


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message is Vietnamese."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: the kind of database, and the file written or read."""

    kind: str  # "sqlite" | "postgresql"
    path: Path
    size: int


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Không hỗ trợ sao lưu cơ sở dữ liệu loại {backend}.")
    return backend


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return database


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq (pg_dump, pg_restore) reads it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"Không tìm thấy chương trình {name} (gói postgresql-client) trên máy chủ."
        )
    return found


def _run(cmd: list[str]) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{Path(cmd[0]).name} chạy quá {TIMEOUT_SECONDS} giây.") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{Path(cmd[0]).name} báo lỗi: " + " ".join(detail))


def backup(url: str, target: str | os.PathLike) -> BackupInfo:
    """Write a consistent snapshot of the database at ``url`` to ``target`` (atomically)."""
    kind = _kind(url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".danvan-backup-", dir=target.parent)
    os.close(fd)
    try:
        if kind == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            copy = sqlite3.connect(tmp)
            try:
                with copy:
                    source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", tmp, libpq_url(url)])
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return BackupInfo(kind, target, target.stat().st_size)


def backup_kind(source: str | os.PathLike) -> str:
    """ "sqlite" or "postgresql", from the backup file's first bytes."""
    with open(source, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError("Tệp không phải bản sao lưu của danvan (SQLite hoặc pg_dump).")


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def restore(url: str, source: str | os.PathLike, *, app_role: str | None = None) -> BackupInfo:
    """Restore the backup ``source`` into the empty database at ``url``."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"Không có tệp {source}.")
    kind, wanted = backup_kind(source), _kind(url)
    if kind != wanted:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"Bản sao lưu là của {names[kind]}, không phục hồi được vào {names[wanted]}."
        )
    if kind == "sqlite" and not os.path.exists(_sqlite_path(url)):
        pass  # a new file: empty by definition
    elif tables := _tables(url):
        raise BackupError(
            f"Cơ sở dữ liệu đích không trống ({len(tables)} bảng): chỉ phục hồi vào cơ sở "
            "dữ liệu trống, để không trộn dữ liệu cũ với bản sao lưu."
        )
    if kind == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            with target:
                backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
    else:
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                libpq_url(url),
                str(source),
            ]
        )
        if app_role:
            from danvan.dbroles import grant_app_role

            engine = create_engine(url)
            try:
                with engine.begin() as conn:
                    grant_app_role(conn, app_role)
            finally:
                engine.dispose()
    return BackupInfo(kind, source, source.stat().st_size)
