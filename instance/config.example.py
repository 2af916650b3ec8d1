# Copy to instance/config.py and adjust. Unknown upper-case keys are refused at start-up.
import os

# Required outside demo mode: a long random string, e.g.
#   python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = os.environ.get("DANVAN_SECRET_KEY", "")

# PostgreSQL for real deployments (several app servers share it); unset → SQLite in instance/.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://danvan_app:secret@db.example/danvan"
# Migrations connect as the tables' owner; the application's role above owns nothing (README,
# "PostgreSQL roles"), so it cannot lift the append-only triggers.
# MIGRATION_DATABASE_URL = "postgresql+psycopg://danvan_owner:secret@db.example/danvan"
# DATABASE_APP_ROLE = "danvan_app"

# Behind nginx (or another reverse proxy): how many proxies in front set X-Forwarded-For, so
# that login throttling and rate limits see the real client address. 0 = not behind a proxy.
PROXY_FIX_X_FOR = 0

# Sessions: idle timeout, and the absolute limits after login (remember-me: 14 days).
# SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
# PERMANENT_SESSION_LIFETIME = timedelta(hours=8)

# Demo mode: lists demo accounts on the login page and allows http cookies. Never in production.
DEMO_MODE = False

# Outgoing mail (notifications). None keeps messages queued in the database.
MAIL_SERVER = None
MAIL_PORT = 25
MAIL_USE_STARTTLS = False
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_SENDER = "danvan@soxaydung.example.gov.vn"
BASE_URL = "https://danvan.soxaydung.example.gov.vn"

# Background jobs (e-mail, reminders at 07:00, report page previews), run by the worker
# `flask --app wsgi danvan worker` (make run starts it). "sqlite": a file beside the database,
# enough for one app server. Several app servers: "postgresql" (huey's tables huey_* in
# JOBS_DATABASE_URL; that role must be allowed to create them) or "redis" (JOBS_REDIS_URL).
# Env: DANVAN_JOBS_BACKEND, DANVAN_JOBS_DATABASE_URL, DANVAN_JOBS_REDIS_URL.
JOBS_BACKEND = "sqlite"
# JOBS_SQLITE_PATH = "/var/lib/danvan/jobs.sqlite3"  # default: instance/jobs.sqlite3
# JOBS_DATABASE_URL = "postgresql://danvan_jobs:...@127.0.0.1/danvan"
# JOBS_REDIS_URL = "redis://127.0.0.1:6379/0"
JOBS_RETRIES = 3
JOBS_RETRY_DELAY = 30

# Uploads: bytes per file and files per entry.
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_FILES = 10
MAX_CONTENT_LENGTH = 21 * 1024 * 1024

# Cookies are HTTPS-only by default; keep it so behind TLS.
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True

# Signing certificates, by key "director", "deputy", "agency" or by username. The agency
# seal ("agency") from a PKCS#11 HSM slot (README: "Con dấu số từ HSM (PKCS#11)"), the PIN
# from the environment; or from a PKCS#12 file + password. Personal keys in PKCS#12 files are
# refused outside demo mode (SIGNING_SERVER_KEYS_ALLOWED): signers use their USB token and
# danvan-sign. TRUST_ROOTS lists the PEM files of the CAs the verification page trusts.
# SIGNING_CERTIFICATES = {
#     "agency": {
#         "pkcs11": {
#             "module": "/usr/lib/softhsm/libsofthsm2.so",  # the HSM vendor's PKCS#11 library
#             "token_label": "SoXayDung",
#             "key_label": "seal",
#             "cert_label": "seal",  # or "cert": "/etc/danvan/seal.pem"
#             "pin_env": "DANVAN_HSM_PIN",
#         }
#     },
# }
# TRUST_ROOTS = ["/etc/danvan/ca.pem"]
# Long-term validation (PAdES B-LTA, README "Long-term validation"): the RFC 3161 TSA's URL.
# Unset: signatures stay PAdES B-B and signing needs no network.
# SIGNING_TSA_URL = "http://tsa.example.vn/tsa"
# SIGNING_TSA_TIMEOUT = 10  # seconds for each TSA, OCSP or CRL request
