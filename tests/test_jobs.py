"""Background jobs (huey) with a real consumer process: mail off the request path, retries,
the admin's view, jobs that survive a restart, previews, and reminders once a day."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from huey import SqliteHuey
from sqlalchemy import func, select

from danvan import jobs
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.mail import MAX_ATTEMPTS, retry_delay, send_outbox
from danvan.models import AuditLog, DraftPreview, OutboxMessage
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from tests.factories import require
from tests.live_server import ROOT, write_instance

WAIT = 60  # seconds for the consumer to do a job


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


@pytest.fixture
def stalling_smtp():
    """A mail server that accepts connections and then never says anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


class RedisServer:
    """A throw-away redis-server (Debian's package) with its append-only file in tmp_path."""

    def __init__(self, directory):
        require(shutil.which("redis-server") is not None, "redis-server chưa được cài")
        self.directory, self.port = directory, free_port()
        directory.mkdir(exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start (or start again) on the same port and files: the queue is what it kept."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server không khởi động được")

    def stop(self) -> None:
        """Stop it as a crash would (SIGKILL): only the append-only file survives."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture(params=["database", "redis"])
def queued(request, app, backend, tmp_path):
    """The test's app on a real queue (not the tests' immediate backend): the one production
    uses by default for the database — a SQLite file, or huey's tables in PostgreSQL — and
    Redis, the broker several app servers may share instead."""
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        app.config.update(JOBS_BACKEND="redis", JOBS_REDIS_URL=server.url)
    elif backend[0] == "postgresql":
        app.config.update(JOBS_BACKEND="postgresql")
    else:
        app.config.update(JOBS_BACKEND="sqlite", JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite3"))
    app.extensions.pop("danvan_jobs", None)
    queue = jobs.for_app(app)
    queue.huey.flush()  # PostgreSQL: the queue's tables outlive a test
    yield queue
    queue.huey.flush()
    app.extensions.pop("danvan_jobs", None)


class Worker:
    """``flask --app wsgi danvan worker`` as a subprocess on the test's database and queue."""

    def __init__(self, instance, db_url: str, log_path):
        self.log_path = log_path
        env = {
            **os.environ,
            "DANVAN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": db_url,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DANVAN_DEMO_MODE", "DANVAN_SECRET_KEY", "DANVAN_JOBS_BACKEND"):
            env.pop(name, None)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "danvan", "worker"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        """What the worker wrote so far."""
        return self.log_path.read_text("utf-8", "replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the worker (SIGKILL: as if the machine died)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


@pytest.fixture
def worker(queued, db_url, key_dir, tmp_path):
    """start(**config) → a running Worker sharing the test's queue file; stopped afterwards."""
    workers: list[Worker] = []

    def start(**config) -> Worker:
        queue = {"JOBS_BACKEND": queued.backend}
        if queued.backend == "sqlite":
            queue["JOBS_SQLITE_PATH"] = queued.huey.storage.filename
        if queued.backend == "redis":
            queue["JOBS_REDIS_URL"] = queued.app.config["JOBS_REDIS_URL"]
        instance = write_instance(
            tmp_path / f"worker-instance-{len(workers)}",
            key_dir,
            JOBS_RETRY_DELAY=1,
            MAIL_RETRY_BASE_SECONDS=0,
            **queue,
            **config,
        )
        started = Worker(instance, db_url, tmp_path / "worker.log")
        workers.append(started)
        return started

    yield start
    for started in workers:
        started.stop()


def wait_for(condition, what: str, worker: Worker | None = None):
    """Poll ``condition`` (reading the database afresh) until it is true."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    log = worker.log()[-3000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def submit_entry(world, login):
    """Staff submits an entry: the unit head gets a notice (one outbox message)."""
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    db.session.commit()
    response = login(world.staff_a).post(
        f"/hoat-dong/{entry.id}/thao-tac/submit", data={"version": entry.version}
    )
    assert response.status_code in (302, 303), response.status_code
    return entry


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_request_only_enqueues_and_the_consumer_delivers(
    world, app, login, queued, worker, smtp, stalling_smtp
):
    stall_port, accepted = stalling_smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=stall_port)
    submit_entry(world, login)  # returns although that mail server would hang
    time.sleep(0.5)
    assert accepted == []  # the request never connected to SMTP
    [message] = outbox()
    assert message.sent_at is None and message.attempts == 0
    assert queued.pending_count() == 1
    port, inbox = smtp
    running = worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    wait_for(lambda: inbox.messages, "the mail", running)
    assert inbox.messages[0][0] == ["tp.a@example.vn"]
    assert inbox.messages[0][1]["Subject"].startswith("[danvan] Chờ Trưởng phòng duyệt")
    sent = wait_for(lambda: outbox()[0].sent_at, "sent_at", running)
    assert sent and outbox()[0].attempts == 1


def test_smtp_down_is_retried_and_shown_to_the_admin(world, app, login, queued, worker, smtp):
    running = worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens
    submit_entry(world, login)
    wait_for(lambda: outbox()[0].attempts >= 2, "a retry", running)  # the job ran again
    message = outbox()[0]
    assert message.sent_at is None and message.last_error
    running.stop()
    admin = login(world.admin)
    page = admin.get("/quan-tri/tac-vu-nen")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="outbox-{message.id}"' in text and "tp.a@example.vn" in text
    assert message.last_error in text and "Gửi lại ngay" in text
    assert 'href="/quan-tri/tac-vu-nen"' in admin.get("/quan-tri").get_data(as_text=True)
    # The mail server is back: "Gửi lại ngay" queues a job that delivers it.
    port, inbox = smtp
    response = admin.post(f"/quan-tri/tac-vu-nen/thu/{message.id}/gui-lai")
    assert response.status_code == 303
    assert db.session.get(OutboxMessage, message.id).attempts == 0
    logged = db.session.scalars(
        select(AuditLog).where(
            AuditLog.object_type == "outbox_message", AuditLog.object_id == message.id
        )
    ).one()  # the administration log says who sent it again
    assert logged.action == "resend" and logged.actor_id == world.admin.id
    running = worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    wait_for(lambda: inbox.messages, "the mail sent again", running)
    text = admin.get("/quan-tri/tac-vu-nen").get_data(as_text=True)
    assert "Mọi thư đã được gửi." in text


def test_the_jobs_page_is_for_admins_only(world, login, queued):
    assert login(world.staff_a).get("/quan-tri/tac-vu-nen").status_code == 403
    assert login(world.office).post("/quan-tri/tac-vu-nen/thu/1/gui-lai").status_code == 403


def test_jobs_survive_a_killed_consumer(request, world, app, login, queued, worker, smtp):
    port, inbox = smtp
    running = worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    wait_for(lambda: "Worker danvan" in running.log(), "the worker to start", running)
    running.stop(signal.SIGKILL)
    submit_entry(world, login)
    assert queued.pending_count() >= 1  # in the queue file (a periodic one too), nobody runs it
    if queued.backend == "redis":  # the broker dies too: its append-only file keeps the job
        server = request.getfixturevalue("redis_server")
        server.stop()
        server.start()
        assert queued.pending_count() >= 1
    time.sleep(1)
    assert inbox.messages == []
    running = worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)  # restarted
    wait_for(lambda: inbox.messages, "the job kept across the restart", running)
    assert wait_for(lambda: outbox()[0].sent_at, "sent_at", running)


def test_a_preview_job_renders_in_the_consumer(dept, app, login, queued, worker):
    require(pdfmod.libreoffice_available(), "LibreOffice (soffice) chưa được cài")
    report = report_ops.compile_report(dept.campaign, actor=dept.office)
    db.session.commit()
    sha = report.draft_docx_sha256
    client = login(dept.office)
    page = client.get(f"/bao-cao/{report.id}/xem-truoc")
    assert "Đang dựng các trang của dự thảo" in page.get_data(as_text=True)
    assert queued.pending_count() == 1
    running = worker()
    wait_for(
        lambda: db.session.get(DraftPreview, sha).status != "rendering", "the preview", running
    )
    status = client.get(f"/bao-cao/{report.id}/xem-truoc/trang-thai").get_json()
    assert status["status"] == "done" and status["pages"] >= 2, (status, running.log()[-2000:])


def test_reminders_are_queued_once_a_day(dept, tmp_path):
    huey = SqliteHuey("danvan", filename=str(tmp_path / "q.sqlite3"), results=False)
    today = dept.campaign.report_deadline - timedelta(days=2)
    before = db.session.scalar(select(func.count(OutboxMessage.id)))
    first = jobs.send_daily_reminders(huey, today)
    count = db.session.scalar(select(func.count(OutboxMessage.id)))
    assert first > 0 and count == before + first
    # The worker restarted, or the job was retried: the day's marker is there.
    again = SqliteHuey("danvan", filename=str(tmp_path / "q.sqlite3"), results=False)
    assert jobs.send_daily_reminders(again, today) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == count
    assert jobs.send_daily_reminders(again, today + timedelta(days=1)) > 0


def test_reminders_run_at_seven_in_vietnam():
    assert jobs.at_reminder_time(datetime(2026, 3, 2, 0, 0))  # 07:00 in Hà Nội
    assert not jobs.at_reminder_time(datetime(2026, 3, 2, 7, 0))
    assert not jobs.at_reminder_time(datetime(2026, 3, 2, 0, 1))


def test_a_failed_message_waits_longer_before_each_attempt(app):
    """A mail server away for a morning: ten attempts 1, 2, 4 … 60 minutes apart, then stop."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_RETRY_BASE_SECONDS=60)
    message = OutboxMessage(recipient="a@example.vn", subject="Thử", body="Nội dung")
    db.session.add(message)
    db.session.commit()
    start = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
    send_outbox(app.config, now=start)
    assert message.attempts == 1 and message.last_error
    assert message.next_attempt_at == start + timedelta(minutes=1)
    send_outbox(app.config, now=start + timedelta(seconds=30))  # not due yet
    assert message.attempts == 1
    moment = start
    while message.attempts < MAX_ATTEMPTS:
        moment = message.next_attempt_at
        before = message.attempts
        send_outbox(app.config, now=moment)
        assert message.attempts == before + 1
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8, 9)] == [
        60,
        120,
        240,
        3600,
        3600,
        3600,
    ]
    assert timedelta(hours=3.5) < moment - start < timedelta(hours=5)
    send_outbox(app.config, now=moment + timedelta(days=1))  # no attempts left
    assert message.attempts == MAX_ATTEMPTS and message.sent_at is None


def test_the_backend_comes_from_the_configuration():
    assert jobs.backend_name({"TESTING": True}) == "immediate"
    assert jobs.backend_name({}) == "sqlite"
    # Several app servers on one PostgreSQL share the queue in it: nothing on local disk.
    assert jobs.backend_name({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/d"}) == (
        "postgresql"
    )
    assert jobs.backend_name({"JOBS_BACKEND": "redis"}) == "redis"
    with pytest.raises(jobs.ConfigurationError):
        jobs.backend_name({"JOBS_BACKEND": "rabbit"})
