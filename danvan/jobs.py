"""Background jobs (huey): e-mail, deadline reminders and report page previews.

A request never talks to SMTP or LibreOffice: it commits, then enqueues a job, and the worker
(``flask --app wsgi danvan worker``, started by ``make run``) runs it. The database stays the
source of truth — outbox rows (attempts, last_error, sent_at) and DraftPreview rows (status) —
so a lost job loses nothing: every minute a periodic job sends whatever mail is still pending,
and a preview whose job died is claimed again by the page's next poll.

Backends (``JOBS_BACKEND``): ``sqlite`` (the file ``instance/jobs.sqlite3``: one app server;
the default when the database is SQLite), ``postgresql`` (huey's PostgreSQL storage in the
app's own database, tables created by migration 0011; the default when the database is
PostgreSQL, so several app servers share one queue and nothing that matters is on local disk),
``redis`` (``JOBS_REDIS_URL``), and ``immediate`` (tests: mail is sent inline, previews render
in a thread of this process). With ``TESTING`` and no backend set, ``immediate`` is used.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, date, datetime

from flask import Flask
from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import MemoryHuey
from sqlalchemy import func, select

from danvan.text import VN_TZ, today_vn

log = logging.getLogger(__name__)

BACKENDS = ("sqlite", "postgresql", "redis", "immediate")
REMINDER_HOUR = 7  # reminders go out at 07:00 Asia/Ho_Chi_Minh
OUTBOX_LOCK = "send-outbox"
# huey's PostgresStorage tables, created by migration 0011 (not in the models).
QUEUE_TABLES = frozenset({"huey_kv", "huey_schedule", "huey_task", "huey_counter"})

_local_lock = threading.Lock()
_local_threads: set[threading.Thread] = set()


class MailPending(Exception):
    """Some messages could not be sent this time: huey retries the job after a delay."""


class ConfigurationError(RuntimeError):
    """JOBS_BACKEND names no known backend."""


def include_object(object_, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object hook: leave the queue's tables out of autogenerate."""
    if type_ == "table":
        return name not in QUEUE_TABLES
    if type_ == "index":
        return not (name or "").startswith("huey_")
    return True


def backend_name(config: dict) -> str:
    """The configured backend: JOBS_BACKEND, else "immediate" in tests, else the database's
    own kind ("postgresql" on PostgreSQL, "sqlite" otherwise)."""
    url = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    default = "postgresql" if url.startswith("postgresql") else "sqlite"
    name = config.get("JOBS_BACKEND") or ("immediate" if config.get("TESTING") else default)
    if name not in BACKENDS:
        raise ConfigurationError(
            f"JOBS_BACKEND={name!r} không hợp lệ; chọn một trong: {', '.join(BACKENDS)}."
        )
    return name


def sqlite_path(app: Flask) -> str:
    """The SQLite file of the queue (JOBS_SQLITE_PATH, default instance/jobs.sqlite3)."""
    return app.config.get("JOBS_SQLITE_PATH") or os.path.join(app.instance_path, "jobs.sqlite3")


def _plain_pg_url(url: str) -> str:
    """psycopg takes postgresql://…, not SQLAlchemy's postgresql+psycopg://…."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _make_huey(app: Flask, backend: str) -> Huey:
    config = app.config
    options = {"results": False, "utc": True}
    if backend == "immediate":
        return MemoryHuey("danvan", immediate=True, **options)
    if backend == "sqlite":
        return SqliteHuey("danvan", filename=sqlite_path(app), timeout=10, **options)
    if backend == "postgresql":
        url = config.get("JOBS_DATABASE_URL") or config["SQLALCHEMY_DATABASE_URI"]
        # The tables come from migration 0011: the app's role has no CREATE right.
        return PostgresHuey("danvan", dsn=_plain_pg_url(str(url)), create_tables=False, **options)
    return RedisHuey("danvan", url=config["JOBS_REDIS_URL"], **options)


def at_reminder_time(timestamp: datetime) -> bool:
    """True in the minute 07:00 Asia/Ho_Chi_Minh (huey passes naive UTC timestamps)."""
    local = timestamp.replace(tzinfo=UTC).astimezone(VN_TZ)
    return local.hour == REMINDER_HOUR and local.minute == 0


def every_minute(timestamp: datetime) -> bool:
    """Every minute the consumer's scheduler ticks."""
    return True


class Jobs:
    """One app's queue: its huey instance and the tasks, each wrapping a plain function."""

    def __init__(self, app: Flask):
        self.app = app
        self.backend = backend_name(app.config)
        self.huey = _make_huey(app, self.backend)
        retry = {
            "retries": int(app.config["JOBS_RETRIES"]),
            "retry_delay": int(app.config["JOBS_RETRY_DELAY"]),
        }
        huey = self.huey
        self.outbox_lock = huey.lock_task(OUTBOX_LOCK)
        self.send_outbox = huey.task(name="danvan.send_outbox", **retry)(self._send_outbox)
        self.render_preview = huey.task(name="danvan.render_preview", **retry)(self._render_preview)
        self.send_pending = huey.periodic_task(every_minute, name="danvan.send_pending_mail")(
            self._send_outbox
        )
        self.daily_reminders = huey.periodic_task(
            at_reminder_time, name="danvan.daily_reminders", **retry
        )(self._daily_reminders)

    # --- What the requests call -------------------------------------------------------------

    def enqueue_mail(self) -> None:
        """Send the outbox in the background (inline with the immediate backend)."""
        self.send_outbox()

    def enqueue_preview(self, sha: str) -> None:
        """Render draft ``sha``'s preview in the worker (a thread of this process in tests)."""
        if self.backend == "immediate":
            _run_local(self._render_preview, sha)
        else:
            self.render_preview(sha)

    def pending_count(self) -> int:
        """Jobs waiting in the queue, retries and delayed ones included."""
        return self.huey.pending_count() + self.huey.scheduled_count()

    def consumer(self, workers: int = 2, periodic: bool = True):
        """A huey consumer for this queue (run it with ``.run()`` in the main thread)."""
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=periodic,
            flush_locks=True,
            max_delay=2.0,  # an idle worker looks at the queue at least every 2 s
        )

    # --- The tasks: each one calls an existing plain function in an app context -------------

    def _send_outbox(self) -> None:
        from danvan import mail

        if self.backend == "immediate":  # the request's own process; failures stay queued
            with self.app.app_context():
                mail.send_outbox(self.app.config)
            return
        with self.outbox_lock, self.app.app_context():  # one sender at a time: no double mail
            mail.send_outbox(self.app.config)
            waiting = retryable_count()
        if waiting:
            raise MailPending(f"{waiting} thư chưa gửi được; sẽ thử lại.")

    def _render_preview(self, sha: str) -> None:
        from danvan.reports import previews

        previews.render(self.app, sha)

    def _daily_reminders(self) -> None:
        with self.app.app_context():
            send_daily_reminders(self.huey, today_vn())
        self._send_outbox()


def retryable_count() -> int:
    """Outbox messages that failed but will be tried again."""
    from danvan.extensions import db
    from danvan.mail import MAX_ATTEMPTS
    from danvan.models import OutboxMessage

    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < MAX_ATTEMPTS,
            OutboxMessage.last_error.is_not(None),
        )
    )


def reminder_key(campaign_id: int, day: date) -> str:
    """The queue's marker that the day's reminders of a campaign were queued."""
    return f"danvan.reminders.{campaign_id}.{day.isoformat()}"


def send_daily_reminders(huey: Huey, today: date) -> int:
    """Queue today's deadline reminders of every active campaign, once a day each.

    A marker in the queue's storage (atomic put-if-empty) is set before the reminders are
    queued and removed if their commit fails: a restarted worker, a retry or a second
    consumer finds it and does not mail the same people twice that day.
    """
    from danvan.extensions import db
    from danvan.models import Campaign
    from danvan.notifications import queue_deadline_reminders

    queued = 0
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.status == "active").order_by(Campaign.id)
    ).all()
    for campaign in campaigns:
        key = reminder_key(campaign.id, today)
        if not huey.put_if_empty(key, "1"):
            continue
        try:
            queued += queue_deadline_reminders(campaign, today)
            db.session.commit()
        except Exception:
            db.session.rollback()
            huey.delete(key)
            raise
    return queued


def for_app(app: Flask) -> Jobs:
    """The app's queue, built on first use from its configuration."""
    jobs = app.extensions.get("danvan_jobs")
    if jobs is None:
        with _local_lock:
            jobs = app.extensions.get("danvan_jobs")
            if jobs is None:
                jobs = app.extensions["danvan_jobs"] = Jobs(app)
    return jobs


def _run_local(fn, *args) -> None:
    """Run ``fn`` in a thread of this process (the immediate backend's previews)."""

    def target():
        try:
            fn(*args)
        finally:
            with _local_lock:
                _local_threads.discard(thread)

    thread = threading.Thread(target=target, name="danvan-job", daemon=True)
    with _local_lock:
        _local_threads.add(thread)
    thread.start()


def wait_local(timeout: float = 120) -> None:
    """Block until the jobs run in this process's threads are finished (tests)."""
    with _local_lock:
        pending = list(_local_threads)
    for thread in pending:
        thread.join(timeout)
