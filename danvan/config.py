"""Configuration: defaults here, then instance/config.py, then environment, then a test mapping.

Unknown upper-case keys in instance/config.py are refused so that a typo never silently falls
back to a default (e.g. ``SESION_COOKIE_SECURE``).
"""

from __future__ import annotations

import os
from datetime import timedelta

MB = 1024 * 1024

DEFAULTS: dict[str, object] = {
    "SECRET_KEY": None,
    "DEMO_MODE": False,
    "SQLALCHEMY_DATABASE_URI": None,  # None → sqlite:///<instance>/danvan.sqlite3
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
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
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Outgoing mail. MAIL_SERVER None → notifications stay queued in the outbox table.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_STARTTLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "danvan@localhost",
    "MAIL_TIMEOUT": 10,
    # Public address used in e-mail links.
    "BASE_URL": "http://127.0.0.1:5000",
    # Signing certificates (PKCS#12 files + passwords) by key: "director", "deputy", "agency",
    # or a username. See instance/config.example.py.
    "SIGNING_CERTIFICATES": {},
    "TRUST_ROOTS": [],
    "LIBREOFFICE_TIMEOUT": 180,
    "TESTING": False,
    "DEBUG": False,
}

# Environment variables read on top of the files (name → key, converter).
ENV_KEYS: dict[str, tuple[str, type]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "DANVAN_SECRET_KEY": ("SECRET_KEY", str),
    "DANVAN_DEMO_MODE": ("DEMO_MODE", bool),
    "DANVAN_MAIL_SERVER": ("MAIL_SERVER", str),
    "DANVAN_MAIL_PORT": ("MAIL_PORT", int),
    "DANVAN_BASE_URL": ("BASE_URL", str),
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


def finalize(config: dict, instance_path: str) -> None:
    """Fill derived values and refuse an unsafe configuration."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            instance_path, "danvan.sqlite3"
        )
    url = str(config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    config["SQLALCHEMY_DATABASE_URI"] = url
    if not config.get("SECRET_KEY"):
        if config.get("DEMO_MODE") or config.get("TESTING"):
            config["SECRET_KEY"] = "demo-only-secret-key-do-not-use-in-production"
        else:
            raise ConfigError(
                "Thiếu SECRET_KEY. Hãy sao chép instance/config.example.py thành "
                "instance/config.py và đặt SECRET_KEY (hoặc biến môi trường DANVAN_SECRET_KEY), "
                "hoặc chạy ở chế độ demo (DANVAN_DEMO_MODE=1)."
            )
