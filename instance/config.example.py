# Copy to instance/config.py and adjust. Unknown upper-case keys are refused at start-up.
import os

# Required outside demo mode: a long random string, e.g.
#   python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = os.environ.get("DANVAN_SECRET_KEY", "")

# PostgreSQL for real deployments (several app servers share it); unset → SQLite in instance/.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://danvan:secret@db.example/danvan"

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

# Uploads: bytes per file and files per entry.
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_FILES = 10
MAX_CONTENT_LENGTH = 21 * 1024 * 1024

# Cookies are HTTPS-only by default; keep it so behind TLS.
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True

# Signing certificates: PKCS#12 file + password, by key "director", "deputy", "agency"
# or by username. TRUST_ROOTS lists the PEM files of the CAs the verification page trusts.
# SIGNING_CERTIFICATES = {
#     "giamdoc": {"pkcs12": "/etc/danvan/giamdoc.p12", "password": "..."},
#     "agency": {"pkcs12": "/etc/danvan/soxaydung.p12", "password": "..."},
# }
# TRUST_ROOTS = ["/etc/danvan/ca.pem"]
