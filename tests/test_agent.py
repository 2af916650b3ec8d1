"""danvan-sign (danvan/agent) run as a real process against a SoftHSM2 token and an HTTP server.

The server here is a small stand-in speaking the /api/v1/signature-requests contract and
verifying each RSA signature with the signer certificate's public key over the exact bytes it
asked to be signed. The token is a real SoftHSM2 token set up per test (its own SOFTHSM2_CONF);
every PKCS#11 call of the tests themselves runs in a subprocess, since a process initialises
SoftHSM2 only once. When OpenSC's pkcs11-spy is installed (Debian: opensc-pkcs11) the agent is
run through it and its log shows every C_Login/C_Sign the agent made.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.factories import require

ROOT = Path(__file__).resolve().parent.parent
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)
SPY_MODULES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
)
SOFTHSM = next((p for p in SOFTHSM_MODULES if os.path.exists(p)), None)
SPY = next((p for p in SPY_MODULES if os.path.exists(p)), None)
PIN = "246810"
SO_PIN = "13579111"
API_TOKEN = "dv_" + "A" * 43
WRONG_PIN = (
    "Mã PIN không đúng. Token có thể bị khóa sau vài lần nhập sai; danvan-sign không tự thử lại."
)


# ---------------------------------------------------------------- the PKI and the token


@dataclass
class Identity:
    """A key pair with its certificate issued by the test CA."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sở Xây dựng tỉnh Hà Nam (thử nghiệm)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(common_name: str, ca: Identity | None = None) -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject if ca else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    cert = builder.sign(ca.key if ca else key, hashes.SHA256())
    return Identity(key, cert)


@pytest.fixture(scope="module")
def pki() -> dict[str, Identity]:
    """A test CA, the director's identity and another person's (for the wrong certificate)."""
    ca = _issue("CA thử nghiệm danvan")
    return {
        "ca": ca,
        "director": _issue("Nguyễn Văn Giám Đốc", ca),
        "other": _issue("Trần Thị Khác", ca),
    }


SETUP_SCRIPT = r"""
import json, sys
import pkcs11
from pkcs11 import Attribute, CertificateType, ObjectClass
from pkcs11.util.rsa import decode_rsa_private_key
args = json.loads(sys.argv[1])
token = pkcs11.lib(args["module"]).get_token(token_label=args["label"])
if args["action"] == "import":
    with token.open(rw=True, user_pin=args["pin"]) as session:
        attrs = decode_rsa_private_key(bytes.fromhex(args["key"]))
        attrs.update({Attribute.TOKEN: True, Attribute.ID: bytes.fromhex(args["id"]),
                      Attribute.LABEL: args["key_label"], Attribute.SENSITIVE: True,
                      Attribute.EXTRACTABLE: False, Attribute.SIGN: True})
        session.create_object(attrs)
        session.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE,
                               Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                               Attribute.TOKEN: True, Attribute.PRIVATE: False,
                               Attribute.ID: bytes.fromhex(args["id"]),
                               Attribute.LABEL: args["key_label"],
                               Attribute.SUBJECT: bytes.fromhex(args["subject"]),
                               Attribute.VALUE: bytes.fromhex(args["cert"])})
    print("{}")
elif args["action"] == "flags":
    print(json.dumps({"flags": int(token.flags)}))
elif args["action"] == "login":
    try:
        with token.open(user_pin=args["pin"]):
            print(json.dumps({"ok": True}))
    except pkcs11.PKCS11Error as exc:
        print(json.dumps({"ok": False, "error": type(exc).__name__}))
"""


@dataclass
class SoftToken:
    """A SoftHSM2 token of its own configuration, holding the director's key and certificate."""

    conf: Path
    label: str
    pin: str
    key_label: str = "giam-doc"
    key_id: str = "a1"

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def run(self, action: str, **values) -> dict:
        """One PKCS#11 step in a subprocess (SoftHSM2 reads its config once per process)."""
        args = {"action": action, "module": SOFTHSM, "label": self.label, **values}
        done = subprocess.run(
            [sys.executable, "-c", SETUP_SCRIPT, json.dumps(args)],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def flags(self):
        """The token's flags as python-pkcs11's TokenFlag."""
        from pkcs11 import TokenFlag

        return TokenFlag(self.run("flags")["flags"])


def make_soft_token(tmp_path: Path, identity: Identity, *, label: str = "GiamDoc") -> SoftToken:
    """Initialise a token and import ``identity``'s private key (non-extractable) and cert."""
    require(
        SOFTHSM is not None and shutil.which("softhsm2-util") is not None,
        "SoftHSM2 (softhsm2) chưa được cài",
    )
    store = tmp_path / "softhsm-tokens"
    store.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {store}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label]
        + ["--pin", PIN, "--so-pin", SO_PIN],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        capture_output=True,
        check=True,
        timeout=60,
    )
    token = SoftToken(conf, label, PIN)
    key_der = identity.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    token.run(
        "import",
        pin=PIN,
        key=key_der.hex(),
        cert=identity.der.hex(),
        subject=identity.cert.subject.public_bytes().hex(),
        id=token.key_id,
        key_label=token.key_label,
    )
    return token


@pytest.fixture
def token(tmp_path, pki) -> SoftToken:
    """The director's SoftHSM2 token."""
    return make_soft_token(tmp_path, pki["director"])


# ---------------------------------------------------------------- the stand-in server


def _problem(status: int, title: str, detail: str) -> tuple[int, dict]:
    return status, {"type": "about:blank", "title": title, "status": status, "detail": detail}


@dataclass
class StandIn:
    """The signature-request API with one pending request, checking signatures for real."""

    certificate: x509.Certificate  # registered for the signer: what signatures must verify with
    named_sha256: str  # the fingerprint the request names
    token: str = API_TOKEN
    answer_status: int | None = None  # force 409/410 on the answer
    to_sign: dict[str, bytes] = field(
        default_factory=lambda: {
            "pdf": b"1\x82signed-attributes-of-the-pdf" + secrets.token_bytes(32),
            "docx": b"1\x82signed-attributes-of-the-docx" + secrets.token_bytes(32),
        }
    )
    pdf: bytes = b"%PDF-1.7\n% danvan test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    answered: list[dict] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    state: str = "pending"
    url: str = ""
    expires_at: dt.datetime = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(
            second=0, microsecond=0
        )
    )

    def row(self) -> dict:
        return {
            "id": 7,
            "report_id": 3,
            "number_symbol": "05/BC-SXD",
            "subject": "Báo cáo kết quả Tháng cao điểm Dân vận năm 2026",
            "date": "03/12/2026",
            "expires_at": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "certificate_sha256": self.named_sha256,
            "pdf_url": "/api/v1/signature-requests/7/pdf",
        }

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, object]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return _problem(401, "Chưa xác thực", "Mã truy cập API không hợp lệ hoặc đã hết hạn.")
        base = "/api/v1/signature-requests"
        if method == "GET" and path == base:
            items = [self.row()] if self.state == "pending" else []
            return 200, {"items": items, "total": len(items)}
        if path in (f"{base}/7", f"{base}/7/pdf", f"{base}/7/signatures"):
            if method == "GET" and path.endswith("/pdf"):
                return 200, self.pdf
            if method == "GET":
                return 200, {
                    **self.row(),
                    "to_sign": [
                        {
                            "kind": kind,
                            "algorithm": "sha256_rsa_pkcs1v15",
                            "data": base64.b64encode(data).decode(),
                        }
                        for kind, data in self.to_sign.items()
                    ],
                }
            if method == "POST" and path.endswith("/signatures"):
                return self.answer(json.loads(body))
        return _problem(404, "Không tìm thấy", "Không tìm thấy tài nguyên bạn yêu cầu.")

    def answer(self, payload: dict) -> tuple[int, object]:
        self.answered.append(payload)
        if self.answer_status == 410 or self.state == "expired":
            self.state = "expired"
            return _problem(410, "Yêu cầu đã hết hạn", "Yêu cầu ký số 7 đã hết hạn lúc 10:30.")
        if self.answer_status == 409 or self.state != "pending":
            return _problem(409, "Xung đột dữ liệu", "Yêu cầu ký này đã được trả lời.")
        signatures = payload["signatures"]
        if set(signatures) != set(self.to_sign):
            return _problem(422, "Chữ ký số không được chấp nhận", "Thiếu chữ ký.")
        for kind, data in self.to_sign.items():
            try:
                self.certificate.public_key().verify(
                    base64.b64decode(signatures[kind]), data, padding.PKCS1v15(), hashes.SHA256()
                )
            except InvalidSignature:
                return _problem(
                    422,
                    "Chữ ký số không được chấp nhận",
                    f"Chữ ký ({kind}) không khớp với chứng thư đã đăng ký.",
                )
            self.verified.append(kind)
        self.state = "completed"
        return 200, {"state": "completed", "report_id": 3, "number_symbol": "05/BC-SXD"}


def _serve(standin: StandIn):
    class Handler(BaseHTTPRequestHandler):
        def _go(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = standin.handle(self.command, self.path, self.headers, body)
            if isinstance(answer, bytes):
                data, mime = answer, "application/pdf"
            else:
                data = json.dumps(answer, ensure_ascii=False).encode()
                mime = "application/json" if status < 400 else "application/problem+json"
            self.send_response(status)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _go

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def standin(pki):
    """The stand-in server for a request naming the director's certificate."""
    standin = StandIn(pki["director"].cert, pki["director"].sha256)
    server = _serve(standin)
    yield standin
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- running the agent


@dataclass
class Run:
    code: int
    out: str
    err: str
    spy_log: str


def agent(
    tmp_path: Path,
    standin: StandIn | None,
    *args: str,
    token: SoftToken | None = None,
    stdin: str = "",
    api_token: str | None = API_TOKEN,
    spy: bool = False,
    server: str | None = None,
) -> Run:
    """``python -m danvan.agent ARGS`` as the signer would run it, in its own HOME."""
    if spy:
        require(SPY is not None, "pkcs11-spy của OpenSC (opensc-pkcs11) chưa được cài")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    env["DANVAN_URL"] = server or (standin.url if standin else "")
    if api_token is not None:
        env["DANVAN_TOKEN"] = api_token
    extra: list[str] = []
    spy_log = tmp_path / "pkcs11-spy.log"
    if token is not None:
        env.update(token.env)
        module = SOFTHSM
        if spy:
            module = SPY
            env["PKCS11SPY"] = SOFTHSM
            env["PKCS11SPY_OUTPUT"] = str(spy_log)
        if args and args[0] == "ky":
            extra = ["--pkcs11-module", module, "--token-label", token.label]
    done = subprocess.run(
        [sys.executable, "-m", "danvan.agent", *args, *extra],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    log = spy_log.read_text("utf-8", "replace") if spy_log.exists() else ""
    return Run(done.returncode, done.stdout, done.stderr, log)


def calls(log: str, name: str) -> list[str]:
    """The spy log's entries for one PKCS#11 function, each with its lines up to the result."""
    entries = log.split("\n\n")
    return [e for e in entries if any(line.endswith(f": {name}") for line in e.splitlines())]


# ---------------------------------------------------------------- tests


def test_list_shows_the_pending_requests_in_vietnamese(tmp_path, standin):
    run = agent(tmp_path, standin, "danh-sach")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["Mã", "Số,", "ký", "hiệu", "Ngày", "Hết", "hạn", "Trích", "yếu"]
    row = lines[2]
    in_vietnam = standin.expires_at + dt.timedelta(hours=7)  # UTC+7, no daylight saving
    expiry = in_vietnam.strftime("%d/%m/%Y %H:%M").split()
    assert row.split()[:5] == ["7", "05/BC-SXD", "03/12/2026", *expiry]
    assert "Báo cáo kết quả Tháng cao điểm Dân vận năm 2026" in row
    assert "Tổng cộng: 1 văn bản" in run.out
    assert agent(tmp_path, standin, "list").out == run.out

    standin.state = "completed"
    run = agent(tmp_path, standin, "danh-sach")
    assert (run.code, run.out.strip()) == (0, "Không có văn bản nào đang chờ bạn ký.")


def test_show_downloads_the_pdf(tmp_path, standin):
    run = agent(tmp_path, standin, "xem", "7", "--no-open")
    assert run.code == 0, run.err
    path = Path(run.out.split("Bản PDF chờ ký: ")[1].splitlines()[0])
    try:
        assert path.read_bytes() == standin.pdf
        assert path.name.startswith("danvan-05-BC-SXD-") and path.suffix == ".pdf"
        assert (path.stat().st_mode & 0o077) == 0  # a temp file only the signer reads
    finally:
        path.unlink()
    assert "Trích yếu: Báo cáo kết quả Tháng cao điểm Dân vận năm 2026" in run.out


@pytest.mark.parametrize("spy", [False, True])
def test_sign_on_the_token_and_the_server_verifies(tmp_path, standin, token, spy):
    run = agent(
        tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n", spy=spy
    )
    assert run.code == 0, run.err
    assert (
        "Ký văn bản 05/BC-SXD «Báo cáo kết quả Tháng cao điểm Dân vận năm 2026» ngày "
        "03/12/2026? [c/K]" in run.out
    )
    assert "Hoàn tất: văn bản 05/BC-SXD đã được ký số (trạng thái: completed)." in run.out
    assert standin.verified == ["pdf", "docx"]  # RSA over the exact bytes, director's key
    assert len(standin.answered) == 1
    assert PIN not in run.out + run.err
    if spy:
        assert len(calls(run.spy_log, "C_Login")) == 1
        inits = calls(run.spy_log, "C_SignInit")  # one per document; C_Sign twice (size, value)
        assert len(inits) == 2 and all("CKM_SHA256_RSA_PKCS" in s for s in inits)


def test_declining_signs_nothing(tmp_path, standin, token):
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"K\n{PIN}\n")
    assert run.code == 14
    assert "Bạn chưa đồng ý; không ký." in run.err
    assert standin.answered == []


def test_wrong_pin_is_said_once_and_never_retried(tmp_path, standin, token):
    assert not token.flags() & token.flags().USER_PIN_COUNT_LOW
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin="c\n000000\n")
    assert run.code == 11
    assert run.err.strip() == f"Lỗi: {WRONG_PIN}"
    assert standin.answered == []  # nothing sent, nothing half-signed
    flags = token.flags()
    # SoftHSM2 keeps no retry count, only this flag after a failed login; never locked.
    assert flags & flags.USER_PIN_COUNT_LOW
    assert not flags & (flags.USER_PIN_LOCKED | flags.USER_PIN_FINAL_TRY)

    # The next run warns before the PIN is asked, then signs with the right PIN.
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n")
    assert run.code == 0, run.err
    assert "Lưu ý: token báo đã có lần nhập PIN sai trước đây" in run.err
    assert standin.verified == ["pdf", "docx"]
    assert not token.flags() & flags.USER_PIN_COUNT_LOW  # a good login clears it


def test_wrong_pin_makes_exactly_one_login_attempt(tmp_path, standin, token):
    run = agent(
        tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin="c\n999999\n", spy=True
    )
    assert run.code == 11
    assert WRONG_PIN in run.err
    logins = calls(run.spy_log, "C_Login")
    assert len(logins) == 1 and "CKR_PIN_INCORRECT" in logins[0]
    assert calls(run.spy_log, "C_Sign") == [] and calls(run.spy_log, "C_SignInit") == []


@pytest.mark.parametrize("spy", [False, True])
def test_certificate_mismatch_refused_before_the_pin(tmp_path, pki, token, spy):
    standin = StandIn(pki["other"].cert, pki["other"].sha256)
    server = _serve(standin)
    try:
        run = agent(
            tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n", spy=spy
        )
    finally:
        server.shutdown()
        server.server_close()
    assert run.code == 13
    assert "Chứng thư số trên token không phải chứng thư đã đăng ký cho bạn" in run.err
    assert pki["director"].sha256[:16] in run.err and pki["other"].sha256[:16] in run.err
    assert "Ký văn bản" not in run.out  # not even asked
    assert standin.answered == []
    if spy:
        assert calls(run.spy_log, "C_Login") == [] and calls(run.spy_log, "C_Sign") == []


def test_certificate_file_mismatch_refused(tmp_path, standin, token, pki):
    other = tmp_path / "other.pem"
    other.write_bytes(pki["other"].cert.public_bytes(serialization.Encoding.PEM))
    run = agent(
        tmp_path,
        standin,
        "ky",
        "7",
        "--pin-stdin",
        "--certificate",
        str(other),
        token=token,
        stdin=f"c\n{PIN}\n",
    )
    assert run.code == 13
    assert standin.answered == []

    mine = tmp_path / "mine.der"
    mine.write_bytes(pki["director"].der)
    run = agent(
        tmp_path,
        standin,
        "ky",
        "7",
        "--pin-stdin",
        "--yes",
        "--certificate",
        str(mine),
        "--key-label",
        token.key_label,
        token=token,
        stdin=f"{PIN}\n",
    )
    assert run.code == 0, run.err
    assert standin.verified == ["pdf", "docx"]


@pytest.mark.parametrize(
    ("status", "code", "ours", "theirs"),
    [
        (410, 8, "Yêu cầu ký đã hết hạn", "Yêu cầu ký số 7 đã hết hạn lúc 10:30."),
        (
            409,
            7,
            "Yêu cầu ký này đã được trả lời hoặc đã bị hủy",
            "Yêu cầu ký này đã được trả lời.",
        ),
    ],
)
def test_expired_and_answered_requests(tmp_path, standin, token, status, code, ours, theirs):
    standin.answer_status = status
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n")
    assert run.code == code
    assert ours in run.err and f"Máy chủ: {theirs}" in run.err
    assert "Hoàn tất" not in run.out


def test_request_no_longer_pending_asks_nothing_of_the_token(tmp_path, standin, token):
    standin.state = "completed"
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n")
    assert run.code == 7
    assert "Văn bản 05/BC-SXD không còn chờ bạn ký" in run.err
    assert "Ký văn bản" not in run.out and standin.answered == []

    standin.expires_at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n")
    assert run.code == 8
    assert "Yêu cầu ký đã hết hạn lúc 02/01/2026 10:04" in run.err
    assert standin.answered == []


def test_signature_refused_by_the_server(tmp_path, standin, token, pki):
    standin.certificate = pki["other"].cert  # the server registered another key than the token's
    run = agent(tmp_path, standin, "ky", "7", "--pin-stdin", token=token, stdin=f"c\n{PIN}\n")
    assert run.code == 9
    assert "Máy chủ không chấp nhận chữ ký. Máy chủ: Chữ ký (pdf) không khớp" in run.err


def test_token_file_must_be_private(tmp_path, standin):
    folder = tmp_path / "home" / ".config" / "danvan-sign"
    folder.mkdir(parents=True)
    path = folder / "token"
    path.write_text(API_TOKEN + "\n")
    path.chmod(0o644)
    run = agent(tmp_path, standin, "danh-sach", api_token=None)
    assert run.code == 3
    assert f"Tệp mã truy cập {path} để người khác đọc được (quyền 0644)" in run.err
    assert f"chmod 600 {path}" in run.err
    assert standin.answered == []

    path.chmod(0o600)
    run = agent(tmp_path, standin, "danh-sach", api_token=None)
    assert run.code == 0, run.err
    assert "05/BC-SXD" in run.out


def test_missing_and_wrong_api_token(tmp_path, standin):
    run = agent(tmp_path, standin, "danh-sach", api_token=None)
    assert run.code == 3 and "Chưa có mã truy cập API" in run.err
    run = agent(tmp_path, standin, "danh-sach", api_token="dv_" + "B" * 43)
    assert run.code == 5
    assert "Mã truy cập API không hợp lệ, đã hết hạn hoặc đã bị thu hồi" in run.err
    assert "Máy chủ: Mã truy cập API không hợp lệ hoặc đã hết hạn." in run.err


def test_pin_and_token_are_never_arguments(tmp_path, standin, token):
    run = agent(tmp_path, standin, "ky", "7", "--pin", PIN, token=token)
    assert run.code == 2 and standin.answered == []
    run = agent(tmp_path, standin, "danh-sach", "--token", API_TOKEN)
    assert run.code == 2


def test_server_unreachable_and_plain_http(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    run = agent(tmp_path, None, "danh-sach", server=f"http://127.0.0.1:{port}")
    assert run.code == 4
    assert f"Không kết nối được tới máy chủ http://127.0.0.1:{port}" in run.err
    run = agent(tmp_path, None, "danh-sach", server="http://danvan.example.vn")
    assert run.code == 3
    assert "Máy chủ phải dùng https://" in run.err


def test_help_lists_the_exit_codes(tmp_path):
    run = agent(tmp_path, None, "--help")
    assert run.code == 0
    assert "11  mã PIN không đúng (không thử lại)" in run.out
    assert "13  chứng thư trên token không phải chứng thư máy chủ yêu cầu" in run.out


def test_start_up_loads_neither_flask_nor_the_app(tmp_path):
    """danvan-sign starts in well under a second: the app factory and Flask stay unloaded."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['danvan-sign', '--help']\n"
        "try:\n"
        "    runpy.run_module('danvan.agent', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'flask', 'sqlalchemy', 'werkzeug', 'pyhanko', 'docx'}\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy or m == 'danvan.factory']\n"
        "print('LOADED', sorted(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout[-500:]
    assert "danvan-sign" in done.stdout  # the help was printed


# ---------------------------------------------------------------- against danvan itself


@pytest.mark.libreoffice
def test_agent_signs_through_the_real_api(
    dept, app, key_dir, tmp_path, live_server, cached_conversion
):
    """gunicorn serving danvan, the director's key only on the SoftHSM2 token."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from sqlalchemy import select

    from danvan import signature_requests as sig_ops
    from danvan.api.tokens import create_token
    from danvan.documents import pki as dv_pki
    from danvan.documents import signing
    from danvan.extensions import db
    from danvan.models import Blob
    from danvan.models.signatures import RequestState, SignatureRequest
    from danvan.workflow import ReportState
    from tests.factories import services_for, submitted

    password = "demo"
    app.config["SIGNING_CERTIFICATES"] = {
        name: {"pkcs12": str(key_dir / f"{name}.p12"), "password": password}
        for name in ("deputy", "agency")
    }
    app.config["TRUST_ROOTS"] = [str(key_dir / "ca.pem")]
    key, cert, _ = dv_pki.load_pkcs12_key(
        (key_dir / "director.p12").read_bytes(), password.encode()
    )
    sig_ops.register_certificate(dept.director, cert.public_bytes(Encoding.PEM), actor=dept.admin)
    db.session.commit()
    report = submitted(dept)
    svc = services_for(app, dept.director, dept.agency)
    req = sig_ops.request_signature(
        report, actor=dept.director, services=svc, expected_version=report.version
    )
    secret = create_token(dept.director, name="danvan-sign").secret
    db.session.commit()
    soft = make_soft_token(tmp_path, Identity(key, cert))
    server = live_server(
        SIGNING_CERTIFICATES=app.config["SIGNING_CERTIFICATES"],
        TRUST_ROOTS=app.config["TRUST_ROOTS"],
    )
    real = StandIn(cert, "")
    real.url = server.url

    run = agent(tmp_path, real, "danh-sach", api_token=secret)
    assert run.code == 0, run.err + server.log()[-2000:]
    assert req.number_symbol in run.out

    run = agent(tmp_path, real, "xem", str(req.id), "--no-open", api_token=secret)
    assert run.code == 0, run.err
    Path(run.out.split("Bản PDF chờ ký: ")[1].splitlines()[0]).unlink()

    run = agent(
        tmp_path,
        real,
        "ky",
        str(req.id),
        "--pin-stdin",
        token=soft,
        stdin=f"c\n{PIN}\n",
        api_token=secret,
    )
    assert run.code == 0, run.err + server.log()[-3000:]
    assert f"Hoàn tất: văn bản {req.number_symbol} đã được ký số" in run.out
    db.session.expire_all()
    report = db.session.get(type(report), report.id)
    assert report.state == ReportState.SIGNED
    with app.test_request_context():
        from danvan import services

        roots = services.trust_roots()
    [result] = signing.validate_pdf(db.session.get(Blob, report.signed_pdf_sha256).data, roots)
    assert (result.intact, result.trusted, result.ok) == (True, True, True)

    # Signing again: refused before the token is asked anything (the request is not pending).
    run = agent(
        tmp_path,
        real,
        "ky",
        str(req.id),
        "--pin-stdin",
        token=soft,
        stdin=f"c\n{PIN}\n",
        api_token=secret,
    )
    assert run.code == 7, run.err
    assert f"Văn bản {req.number_symbol} không còn chờ bạn ký" in run.err
    assert "Ký văn bản" not in run.out
    state = db.session.scalar(select(SignatureRequest.state).where(SignatureRequest.id == req.id))
    assert state != RequestState.PENDING
