"""Configuration: defaults here, then instance/config.py, then environment, then a test mapping.

Unknown upper-case keys in instance/config.py are refused so that a typo never silently falls
back to a default (e.g. ``SESION_COOKIE_SECURE``).
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta

MB = 1024 * 1024

DEFAULTS: dict[str, object] = {
    "SECRET_KEY": None,
    "DEMO_MODE": False,
    # make run: the demo's agency seal on a SoftHSM2 token when SoftHSM2 is installed.
    "DEMO_SOFTHSM": False,
    "SQLALCHEMY_DATABASE_URI": None,  # None → sqlite:///<instance>/danvan.sqlite3
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # PostgreSQL: migrations connect as the tables' owner, the application as a role that
    # owns nothing (see danvan/dbroles.py and the README's deployment section).
    "MIGRATION_DATABASE_URL": None,
    "DATABASE_APP_ROLE": None,
    # Uploads: each file ≤ 20 MB, ≤ 10 files per entry. A request may carry one file at the
    # limit plus form fields; anything bigger is answered 413 before it is read.
    "UPLOAD_MAX_BYTES": 20 * MB,
    "UPLOAD_MAX_FILES": 10,
    "MAX_CONTENT_LENGTH": 21 * MB,
    # Login throttling: this many failures for one account or address within the window.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 60,
    # Sessions and cookies.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    # A session ends this long after login in any case, and after SESSION_IDLE_TIMEOUT
    # without a request (remember-me sessions: REMEMBER_COOKIE_DURATION after login).
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Outgoing mail. MAIL_SERVER None → notifications stay queued in the outbox table.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_STARTTLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "danvan@localhost",
    "MAIL_TIMEOUT": 10,
    # A message that failed waits 1, 2, 4 … minutes (at most an hour) before the next attempt.
    "MAIL_RETRY_BASE_SECONDS": 60,
    # Behind a reverse proxy (nginx): how many proxies in front of the app set X-Forwarded-For,
    # -Proto and -Host. 0 = not behind a proxy: those headers are ignored, since a client could
    # forge them to escape the per-address login throttle.
    "PROXY_FIX_X_FOR": 0,
    # Public address: links in e-mails, and the verification URL (with its QR code) printed on
    # every signed document, so it must be the address readers outside the agency can open.
    "BASE_URL": "http://127.0.0.1:5000",
    # Signing certificates by key: "director", "deputy", "agency", or a username; each a
    # PKCS#12 file + password or a PKCS#11 (HSM) slot. See instance/config.example.py.
    "SIGNING_CERTIFICATES": {},
    # Personal signatures (everyone but "agency") from PKCS#12 files on the server: None (the
    # default) allows them only with DEMO_MODE or TESTING, False never, True always (a
    # staging server with test certificates). In production signers use their USB token.
    "SIGNING_SERVER_KEYS_ALLOWED": None,
    "TRUST_ROOTS": [],
    # Long-term validation (PAdES B-LTA): the RFC 3161 time-stamping authority's URL. When set,
    # "Phát hành" embeds the signatures' revocation info (OCSP/CRL, fetched from the URLs in the
    # certificates) and document-timestamps the PDF; None keeps PAdES B-B, offline.
    "SIGNING_TSA_URL": None,
    "SIGNING_TSA_TIMEOUT": 10,
    "LIBREOFFICE_TIMEOUT": 180,
    # Two-phase signing with the signer's USB token (danvan-sign): a signature request, and the
    # number it took, waits this many minutes for the token's signatures, then expires (the
    # signer starts "Ký duyệt" again). Long enough to find the token and read the PDF.
    "SIGNATURE_REQUEST_MINUTES": 30,
    # Background jobs (huey, see danvan/jobs.py): "sqlite" (the file JOBS_SQLITE_PATH, default
    # instance/jobs.sqlite3: one app server), "postgresql" (JOBS_DATABASE_URL, default the app's
    # database) or "redis" (JOBS_REDIS_URL) when several app servers share the work, or
    # "immediate" (run in the request's process). None → "sqlite" ("immediate" when TESTING).
    "JOBS_BACKEND": None,
    "JOBS_SQLITE_PATH": None,
    "JOBS_DATABASE_URL": None,
    "JOBS_REDIS_URL": "redis://127.0.0.1:6379/0",
    "JOBS_RETRIES": 3,  # a failed job runs again this many times,
    "JOBS_RETRY_DELAY": 30,  # seconds apart
    "TESTING": False,
    "DEBUG": False,
}

# Environment variables read on top of the files (name → key, converter).
ENV_KEYS: dict[str, tuple[str, type]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "DANVAN_MIGRATION_DATABASE_URL": ("MIGRATION_DATABASE_URL", str),
    "DANVAN_DATABASE_APP_ROLE": ("DATABASE_APP_ROLE", str),
    "DANVAN_SECRET_KEY": ("SECRET_KEY", str),
    "DANVAN_DEMO_MODE": ("DEMO_MODE", bool),
    "DANVAN_DEMO_SOFTHSM": ("DEMO_SOFTHSM", bool),
    "DANVAN_MAIL_SERVER": ("MAIL_SERVER", str),
    "DANVAN_MAIL_PORT": ("MAIL_PORT", int),
    "DANVAN_BASE_URL": ("BASE_URL", str),
    "DANVAN_PROXY_FIX_X_FOR": ("PROXY_FIX_X_FOR", int),
    "DANVAN_JOBS_BACKEND": ("JOBS_BACKEND", str),
    "DANVAN_JOBS_SQLITE_PATH": ("JOBS_SQLITE_PATH", str),
    "DANVAN_JOBS_DATABASE_URL": ("JOBS_DATABASE_URL", str),
    "DANVAN_JOBS_REDIS_URL": ("JOBS_REDIS_URL", str),
}


class ConfigError(RuntimeError):
    """Raised when the configuration cannot be used."""


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Return configuration values set through environment variables."""
    environ = os.environ if environ is None else environ
    out: dict[str, object] = {}
    for name, (key, conv) in ENV_KEYS.items():
        if name in environ and environ[name] != "":
            raw = environ[name]
            out[key] = raw.lower() in {"1", "true", "yes", "on"} if conv is bool else conv(raw)
    return out


def check_keys(values: dict[str, object], origin: str) -> None:
    """Refuse upper-case keys that danvan does not know."""
    unknown = sorted(
        k for k in values if k.isupper() and k not in DEFAULTS and not k.startswith("_")
    )
    if unknown:
        raise ConfigError(f"{origin}: khóa cấu hình không hợp lệ: {', '.join(unknown)}")


def instance_secret_key(instance_path: str) -> str:
    """The demo's secret key: random, made on first run and kept in instance/secret_key."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as fh:
            key = fh.read().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:  # O_EXCL: of several workers starting at once, one writes and the others read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            with open(path, encoding="ascii") as fh:
                existing = fh.read().strip()
            if len(existing) >= 32:
                return existing
            time.sleep(0.02)
        raise ConfigError(f"{path}: khóa bí mật không hợp lệ; hãy xóa tệp để tạo lại.") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def _driver_url(url: str) -> str:
    """PostgreSQL URLs go through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def finalize(config: dict, instance_path: str) -> None:
    """Fill derived values and refuse an unsafe configuration."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            instance_path, "danvan.sqlite3"
        )
    config["SQLALCHEMY_DATABASE_URI"] = _driver_url(str(config["SQLALCHEMY_DATABASE_URI"]))
    if config.get("MIGRATION_DATABASE_URL"):
        config["MIGRATION_DATABASE_URL"] = _driver_url(str(config["MIGRATION_DATABASE_URL"]))
    if not config.get("SECRET_KEY"):
        if config.get("DEMO_MODE") or config.get("TESTING"):
            config["SECRET_KEY"] = instance_secret_key(instance_path)
        else:
            raise ConfigError(
                "Thiếu SECRET_KEY. Hãy sao chép instance/config.example.py thành "
                "instance/config.py và đặt SECRET_KEY (hoặc biến môi trường DANVAN_SECRET_KEY), "
                "hoặc chạy ở chế độ demo (DANVAN_DEMO_MODE=1)."
            )
