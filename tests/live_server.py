"""A real server for race tests: ``gunicorn -w 4 wsgi:app`` on a free loopback port.

The ``live_server`` fixture returns ``start(**config)``: it writes an instance directory (its
config.py: secret key, http cookies, the demo signing certificates), points the server at the
test's database (``db_url``, SQLite file or PostgreSQL) and waits until the server answers.
Whatever the test committed before calling ``start`` is what the server sees. The server is
stopped at the end of the test. ``Browser`` is one user agent (its own cookies) built on the
standard library, recording the status of every response, redirects included.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 4
START_TIMEOUT = 60  # seconds until the workers answer
REQUEST_TIMEOUT = 120  # one request (a signature converts with LibreOffice)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signing_settings(key_dir: Path) -> dict:
    manifest = json.loads((key_dir / "manifest.json").read_text("utf-8"))
    certificates = {
        name: {"pkcs12": str(key_dir / entry["pkcs12"]), "password": manifest["password"]}
        for name, entry in manifest["certificates"].items()
    }
    return {
        "SIGNING_CERTIFICATES": certificates,
        "TRUST_ROOTS": [str(key_dir / manifest["ca"])],
        # gunicorn runs the app without TESTING: the test PKI's personal keys sign all the same.
        "SIGNING_SERVER_KEYS_ALLOWED": True,
    }


def write_instance(path: Path, key_dir: Path, **config) -> Path:
    """An instance directory whose config.py holds ``config`` on top of the test defaults."""
    path.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_hex(16),
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
        # No worker runs beside a test server: mail is sent and previews are rendered in the
        # server's own process, as the tests' app does (tests/test_jobs.py runs a real one).
        "JOBS_BACKEND": "immediate",
        "MAIL_RETRY_BASE_SECONDS": 0,
        **_signing_settings(key_dir),
        **config,
    }
    lines = [f"{key} = {value!r}" for key, value in values.items()]
    (path / "config.py").write_text("\n".join(lines) + "\n", "utf-8")
    return path


@dataclass
class Page:
    """The last response of a request (after redirects) and every status on the way."""

    status: int
    url: str
    text: str
    statuses: list[int] = field(default_factory=list)
    seconds: float = 0.0  # the request and its redirects


class _Recorder(urllib.request.HTTPRedirectHandler):
    def __init__(self, statuses: list[int]):
        self.statuses = statuses

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.statuses.append(code)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Browser:
    """One user agent on the live server: a cookie jar, forms with their CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self._statuses: list[int] = []
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _Recorder(self._statuses)
        )

    def _open(self, request: urllib.request.Request) -> Page:
        self._statuses.clear()
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                status, url, body = response.status, response.url, response.read()
        except urllib.error.HTTPError as error:  # 4xx and 5xx answers are pages too
            status, url, body = error.code, error.url, error.read()
        statuses = [*self._statuses, status]
        text = body.decode("utf-8", "replace")
        return Page(status, url, text, statuses, time.monotonic() - started)

    def get(self, path: str) -> Page:
        """GET a path of the server."""
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path: str, data: dict, files: list[tuple[str, str, bytes]] = ()) -> Page:
        """POST a form (urlencoded, or multipart with ``files`` as (field, name, bytes))."""
        if not files:
            body = urllib.parse.urlencode(data).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body, content_type = _multipart(data, files)
        request = urllib.request.Request(
            self.base_url + path, data=body, headers={"Content-Type": content_type}
        )
        return self._open(request)

    def csrf_token(self, path: str) -> str:
        """The CSRF token of the form on ``path`` (fetched with this browser's session)."""
        page = self.get(path)
        assert page.status == 200, (path, page.status, page.text[:300])
        return csrf_from(page.text)

    def login(self, username: str, password: str) -> Page:
        """Sign in through the login form."""
        token = self.csrf_token("/dang-nhap")
        page = self.post(
            "/dang-nhap", {"username": username, "password": password, "csrf_token": token}
        )
        assert page.statuses[0] == 302, (username, page.statuses, page.text[:300])
        return page


def csrf_from(html: str) -> str:
    """The first csrf_token value in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf token in page"
    return match.group(1)


def _multipart(data: dict, files) -> tuple[bytes, str]:
    boundary = "danvan" + secrets.token_hex(12)
    parts = []
    for name, value in data.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, filename, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class LiveServer:
    """A running gunicorn (master + workers) started by this test."""

    def __init__(self, instance: Path, db_url: str, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "DANVAN_INSTANCE_PATH": str(instance),
            "DATABASE_URL": db_url,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DANVAN_DEMO_MODE", "DANVAN_SECRET_KEY", "DANVAN_PROXY_FIX_X_FOR"):
            env.pop(name, None)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            str(REQUEST_TIMEOUT),
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ]
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_until_up()

    def log(self) -> str:
        """What gunicorn and the app wrote so far."""
        return self.log_path.read_text("utf-8", "replace")

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn stopped at start:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/dang-nhap", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{self.log()}")

    def browser(self) -> Browser:
        """A new user agent with empty cookies."""
        return Browser(self.url)

    def stop(self) -> None:
        """SIGINT the master (quick shutdown of it and its workers), SIGKILL after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


@pytest.fixture
def live_server(db_url, key_dir, tmp_path):
    """start(**config) → a LiveServer on the test's database; stopped after the test."""
    servers: list[LiveServer] = []

    def start(**config) -> LiveServer:
        instance = write_instance(tmp_path / f"live-instance-{len(servers)}", key_dir, **config)
        server = LiveServer(instance, db_url, tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
