"""``danvan-sign``: list, read and sign the documents waiting for the signer's USB token."""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum
from pathlib import Path

from danvan.agent import usb_token
from danvan.agent.client import Client, ClientError, ServerError

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving since 1975
TOKEN_ENV = "DANVAN_TOKEN"
SERVER_ENV = "DANVAN_URL"
MODULE_ENV = "DANVAN_PKCS11_MODULE"
TOKEN_LABEL_ENV = "DANVAN_TOKEN_LABEL"
KEY_LABEL_ENV = "DANVAN_KEY_LABEL"
CAFILE_ENV = "DANVAN_CAFILE"
YES_ANSWERS = {"c", "có", "co", "y", "yes"}

WRONG_PIN = (
    "Mã PIN không đúng. Token có thể bị khóa sau vài lần nhập sai; danvan-sign không tự thử lại."
)
PIN_LOCKED = (
    "Mã PIN của token đã bị khóa do nhập sai quá số lần cho phép. Liên hệ đơn vị cấp chứng thư "
    "số (hoặc dùng mã PUK/SO PIN theo hướng dẫn của token) để mở khóa; danvan-sign không ký được."
)
FINAL_TRY = "Cảnh báo: token báo đây là LẦN NHẬP PIN CUỐI CÙNG; nếu sai, token sẽ bị khóa."
COUNT_LOW = "Lưu ý: token báo đã có lần nhập PIN sai trước đây; hãy nhập cẩn thận."


class Exit(IntEnum):
    """Exit codes, listed in --help."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    UNREACHABLE = 4
    UNAUTHORIZED = 5
    NOT_FOUND = 6
    ANSWERED = 7
    EXPIRED = 8
    REFUSED = 9
    TOKEN = 10
    PIN_INCORRECT = 11
    PIN_LOCKED = 12
    CERTIFICATE_MISMATCH = 13
    CANCELLED = 14


EXIT_HELP = {
    Exit.OK: "thành công",
    Exit.ERROR: "lỗi khác",
    Exit.USAGE: "sai cú pháp lệnh",
    Exit.CONFIG: "thiếu/sai cấu hình (địa chỉ máy chủ, mã truy cập API, quyền tệp mã)",
    Exit.UNREACHABLE: "không kết nối được máy chủ (mạng, TLS)",
    Exit.UNAUTHORIZED: "mã truy cập API không hợp lệ/hết hạn/thu hồi hoặc không đủ quyền",
    Exit.NOT_FOUND: "không có yêu cầu ký này (hoặc không phải của bạn)",
    Exit.ANSWERED: "yêu cầu đã được trả lời hoặc đã bị hủy (409)",
    Exit.EXPIRED: "yêu cầu đã hết hạn (410)",
    Exit.REFUSED: "máy chủ không chấp nhận chữ ký (422)",
    Exit.TOKEN: "lỗi USB token / trình điều khiển PKCS#11",
    Exit.PIN_INCORRECT: "mã PIN không đúng (không thử lại)",
    Exit.PIN_LOCKED: "mã PIN của token đã bị khóa",
    Exit.CERTIFICATE_MISMATCH: "chứng thư trên token không phải chứng thư máy chủ yêu cầu",
    Exit.CANCELLED: "người ký không đồng ý ký",
}


class Failure(Exception):
    """A run that stops with a Vietnamese message and an exit code."""

    def __init__(self, code: Exit, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- configuration


def config_dir() -> Path:
    """Where the agent's files live: %APPDATA%\\danvan-sign or ~/.config/danvan-sign."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "danvan-sign"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "danvan-sign"


def read_api_token() -> str:
    """The personal API token from DANVAN_TOKEN or the token file (mode 0600 required)."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    source = f"biến môi trường {TOKEN_ENV}"
    if not value:
        path = config_dir() / "token"
        source = f"tệp {path}"
        try:
            info = path.stat()
        except FileNotFoundError:
            raise Failure(
                Exit.CONFIG,
                f"Chưa có mã truy cập API. Tạo mã ở trang Cá nhân → Mã truy cập API của danvan, "
                f"rồi lưu vào tệp {path} (chỉ bạn đọc được: chmod 600) hoặc đặt biến {TOKEN_ENV}.",
            ) from None
        if os.name == "posix":
            if info.st_mode & 0o077:
                raise Failure(
                    Exit.CONFIG,
                    f"Tệp mã truy cập {path} để người khác đọc được (quyền "
                    f"{stat.S_IMODE(info.st_mode):04o}); danvan-sign không dùng. "
                    f"Chạy: chmod 600 {path}",
                )
            if info.st_uid != os.getuid():
                raise Failure(Exit.CONFIG, f"Tệp mã truy cập {path} không thuộc về bạn.")
        value = path.read_text("utf-8").strip()
    if not re.fullmatch(r"dv_[A-Za-z0-9_-]{20,}", value):
        raise Failure(
            Exit.CONFIG, f"Mã truy cập API trong {source} không đúng dạng (phải bắt đầu bằng dv_)."
        )
    return value


def make_client(args) -> Client:
    """The API client from --server/DANVAN_URL, the token and --cafile."""
    server = args.server or os.environ.get(SERVER_ENV, "")
    if not server:
        raise Failure(
            Exit.CONFIG,
            f"Chưa có địa chỉ máy chủ danvan: dùng --server https://… hoặc biến {SERVER_ENV}.",
        )
    token = read_api_token()
    try:
        return Client(server, token, cafile=args.cafile or os.environ.get(CAFILE_ENV) or None)
    except ClientError as exc:
        raise Failure(Exit.CONFIG, exc.message) from None


# ---------------------------------------------------------------- formatting


def format_expiry(text: str) -> str:
    """ISO 8601 UTC from the server as dd/mm/yyyy HH:MM in Vietnam's time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return text or ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(items: list[dict]) -> str:
    """The pending requests as an aligned table with Vietnamese headings."""
    headings = ("Mã", "Số, ký hiệu", "Ngày", "Hết hạn", "Trích yếu")
    rows = [
        (
            str(item.get("id", "")),
            str(item.get("number_symbol", "")),
            str(item.get("date", "")),
            format_expiry(item.get("expires_at", "")),
            str(item.get("subject", "")),
        )
        for item in items
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headings[:-1])]
    total = shutil.get_terminal_size((120, 24)).columns
    subject_width = max(total - sum(widths) - 2 * len(widths) - 1, 30)
    lines = []
    for row in [headings, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, _cut(row[-1], subject_width)]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in [*widths, min(subject_width, 40)]))
    return "\n".join(lines)


def describe(item: dict) -> str:
    """Number, subject, date and expiry of one request, one per line."""
    return (
        f"Văn bản:   {item.get('number_symbol', '')}\n"
        f"Trích yếu: {item.get('subject', '')}\n"
        f"Ngày:      {item.get('date', '')}\n"
        f"Hết hạn:   {format_expiry(item.get('expires_at', ''))}"
    )


# ---------------------------------------------------------------- server errors


def server_failure(error: ServerError, *, answering: bool = False) -> Failure:
    """A Failure with our sentence and the server's own Vietnamese detail."""
    said = error.detail or error.title
    said = f" Máy chủ: {said}" if said else ""
    if error.status == 401:
        return Failure(
            Exit.UNAUTHORIZED,
            "Mã truy cập API không hợp lệ, đã hết hạn hoặc đã bị thu hồi. Tạo mã mới ở trang "
            f"Cá nhân → Mã truy cập API.{said}",
        )
    if error.status == 403:
        return Failure(Exit.UNAUTHORIZED, f"Không có quyền thực hiện thao tác này.{said}")
    if error.status == 404:
        return Failure(
            Exit.NOT_FOUND, f"Không có yêu cầu ký này hoặc yêu cầu không dành cho bạn.{said}"
        )
    if error.status == 409:
        return Failure(
            Exit.ANSWERED, f"Yêu cầu ký này đã được trả lời hoặc đã bị hủy; không ký lại.{said}"
        )
    if error.status == 410:
        return Failure(
            Exit.EXPIRED,
            f"Yêu cầu ký đã hết hạn; Văn phòng cần tạo yêu cầu ký mới trên danvan.{said}",
        )
    if error.status == 422 and answering:
        return Failure(Exit.REFUSED, f"Máy chủ không chấp nhận chữ ký.{said}")
    return Failure(Exit.ERROR, f"Máy chủ báo lỗi {error.status} {error.title}.{said}")


def call(fn, *args, answering: bool = False):
    """Run one client call, turning its errors into Failures."""
    try:
        return fn(*args)
    except ServerError as error:
        raise server_failure(error, answering=answering) from None
    except ClientError as error:
        raise Failure(Exit.UNREACHABLE, error.message) from None


# ---------------------------------------------------------------- commands


def cmd_list(args) -> int:
    """danh-sach: the documents waiting for the signer."""
    items = call(make_client(args).pending)
    if not items:
        print("Không có văn bản nào đang chờ bạn ký.")
        return Exit.OK
    print(table(items))
    print(f"\nTổng cộng: {len(items)} văn bản. Đọc: danvan-sign xem MÃ — Ký: danvan-sign ky MÃ")
    return Exit.OK


def _open_file(path: str) -> bool:
    try:
        if sys.platform == "win32":
            os.startfile(path)  # noqa: S606 - the system's PDF viewer
            return True
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        if not shutil.which(opener):
            return False
        subprocess.Popen(  # noqa: S603
            [opener, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return True
    except OSError:
        return False


def cmd_show(args) -> int:
    """xem: download the prepared PDF and open it with the system viewer."""
    client = make_client(args)
    item = call(client.detail, args.request_id)
    data = call(client.pdf, item)
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "-", str(item.get("number_symbol") or item["id"]))
    fd, path = tempfile.mkstemp(prefix=f"danvan-{safe}-", suffix=".pdf")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    print(describe(item))
    print(f"Bản PDF chờ ký: {path}")
    if not args.no_open and not _open_file(path):
        print("Không mở được trình xem PDF; hãy mở tệp trên bằng tay.")
    return Exit.OK


def _ask_yes(item: dict) -> bool:
    prompt = (
        f"Ký văn bản {item.get('number_symbol', '')} «{item.get('subject', '')}» "
        f"ngày {item.get('date', '')}? [c/K] "
    )
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in YES_ANSWERS


def _read_pin(args) -> str:
    if args.pin_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Failure(Exit.USAGE, "--pin-stdin: không đọc được mã PIN từ đầu vào chuẩn.")
        pin = line.rstrip("\r\n")
    else:
        try:
            pin = getpass.getpass("Mã PIN của USB token: ")
        except (EOFError, KeyboardInterrupt):
            raise Failure(Exit.CANCELLED, "Đã hủy, không ký.") from None
    if not pin:
        raise Failure(Exit.CANCELLED, "Chưa nhập mã PIN; không ký (không thử đăng nhập token).")
    return pin


def _to_sign(item: dict) -> list[tuple[str, bytes]]:
    """The items to sign, checked before the token is touched."""
    out = []
    for entry in item.get("to_sign") or []:
        kind, algorithm = entry.get("kind"), entry.get("algorithm")
        if kind not in ("pdf", "docx"):
            raise Failure(Exit.ERROR, f"Máy chủ yêu cầu ký loại «{kind}» không được hỗ trợ.")
        if algorithm != usb_token.ALGORITHM:
            raise Failure(
                Exit.ERROR,
                f"Máy chủ yêu cầu thuật toán «{algorithm}» mà danvan-sign chưa hỗ trợ; "
                "hãy cập nhật danvan-sign.",
            )
        try:
            data = base64.b64decode(entry.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise Failure(Exit.ERROR, f"Dữ liệu cần ký ({kind}) không phải base64.") from None
        if not data:
            raise Failure(Exit.ERROR, f"Dữ liệu cần ký ({kind}) rỗng.")
        out.append((kind, data))
    if not out:
        raise Failure(Exit.ERROR, "Yêu cầu ký không có dữ liệu nào cần ký.")
    return out


def _mismatch(expected: str, found: list[str]) -> Failure:
    names = ", ".join(f[:16] + "…" for f in found) or "không có"
    return Failure(
        Exit.CERTIFICATE_MISMATCH,
        "Chứng thư số trên token không phải chứng thư đã đăng ký cho bạn trên danvan "
        f"(máy chủ yêu cầu SHA-256 {expected[:16]}…, token có: {names}). Không ký. "
        "Kiểm tra đã cắm đúng token, hoặc nhờ quản trị đăng ký chứng thư mới.",
    )


def _not_pending(item: dict) -> Failure:
    """A request no longer in the signer's pending list: nothing is asked of the token."""
    try:
        expires = datetime.fromisoformat(str(item.get("expires_at")).replace("Z", "+00:00"))
        expired = expires <= datetime.now(UTC)
    except ValueError:
        expired = False
    if expired:
        return Failure(
            Exit.EXPIRED,
            f"Yêu cầu ký đã hết hạn lúc {format_expiry(item.get('expires_at', ''))}; Văn phòng "
            "cần tạo yêu cầu ký mới trên danvan.",
        )
    return Failure(
        Exit.ANSWERED,
        f"Văn bản {item.get('number_symbol', '')} không còn chờ bạn ký (đã ký, đã bị hủy hoặc "
        "đã hết hạn); không ký lại.",
    )


def _key_id(args) -> bytes | None:
    if not args.key_id:
        return None
    try:
        return bytes.fromhex(args.key_id.replace(":", ""))
    except ValueError:
        raise Failure(Exit.USAGE, "--key-id phải là số hex (ví dụ 01 hoặc a1:b2).") from None


def cmd_sign(args) -> int:
    """ky: confirm, log in once with the PIN, check the certificate, sign, post."""
    client = make_client(args)
    item = call(client.detail, args.request_id)
    expected = usb_token.normalise_fingerprint(item.get("certificate_sha256", ""))
    if len(expected) != 64:
        raise Failure(Exit.ERROR, "Máy chủ không cho biết chứng thư số cần dùng.")
    to_sign = _to_sign(item)
    if not any(str(p.get("id")) == str(item.get("id")) for p in call(client.pending)):
        raise _not_pending(item)
    key_id, key_label = _key_id(args), args.key_label or os.environ.get(KEY_LABEL_ENV) or None

    # The certificate is checked before the PIN is asked whenever the token lets us read it.
    wanted_id: bytes | None = None
    if args.certificate:
        try:
            der = usb_token.certificate_file_der(args.certificate)
        except OSError as exc:
            raise Failure(Exit.CONFIG, f"Không đọc được tệp chứng thư: {exc}") from None
        if usb_token.sha256_hex(der) != expected:
            raise _mismatch(expected, [usb_token.sha256_hex(der)])
    try:
        token = usb_token.Token(
            args.pkcs11_module or os.environ.get(MODULE_ENV) or None,
            args.token_label or os.environ.get(TOKEN_LABEL_ENV) or None,
        )
        status = token.status()
        public = [] if args.certificate else token.public_certificates()
    except usb_token.TokenError as exc:
        raise Failure(Exit.TOKEN, exc.message) from None
    if status.pin_locked:
        raise Failure(Exit.PIN_LOCKED, PIN_LOCKED)
    if public:
        matching = [cid for cid, der in public if usb_token.sha256_hex(der) == expected]
        if not matching:
            raise _mismatch(expected, [usb_token.sha256_hex(der) for _, der in public])
        wanted_id = matching[0]

    print(describe(item))
    print(f"Token:     {status.label}")
    if not args.yes and not _ask_yes(item):
        raise Failure(Exit.CANCELLED, "Bạn chưa đồng ý; không ký.")
    if status.pin_final_try:
        print(FINAL_TRY, file=sys.stderr)
    elif status.pin_count_low:
        print(COUNT_LOW, file=sys.stderr)
    if status.protected_path:
        print("Nhập mã PIN trên bàn phím của đầu đọc token.")
        pin = None
    else:
        pin = _read_pin(args)

    signatures: dict[str, str] = {}
    try:
        with token.signing_session(pin) as signer:
            pin = None  # not kept longer than the login
            certificates = [] if args.certificate else signer.certificates()
            if key_id is None and key_label is None:
                if wanted_id is None and not args.certificate:
                    matching = [c for c, d in certificates if usb_token.sha256_hex(d) == expected]
                    if not matching:
                        raise _mismatch(
                            expected, [usb_token.sha256_hex(d) for _, d in certificates]
                        )
                    wanted_id = matching[0]
                key = signer.private_key(key_id=wanted_id or None)
            else:
                key = signer.private_key(key_id=key_id, label=key_label)
                if not args.certificate:
                    own = [d for c, d in certificates if c == signer.key_id(key)]
                    if not any(usb_token.sha256_hex(d) == expected for d in own):
                        raise _mismatch(expected, [usb_token.sha256_hex(d) for d in own])
            for kind, data in to_sign:
                signatures[kind] = base64.b64encode(signer.sign(key, data)).decode("ascii")
    except usb_token.PinIncorrect:
        raise Failure(Exit.PIN_INCORRECT, WRONG_PIN) from None
    except usb_token.PinLocked:
        raise Failure(Exit.PIN_LOCKED, PIN_LOCKED) from None
    except usb_token.TokenError as exc:
        raise Failure(Exit.TOKEN, exc.message) from None

    print("Đã ký trên token; đang gửi chữ ký về máy chủ…")
    result = call(client.answer, item["id"], signatures, answering=True)
    number = result.get("number_symbol") or item.get("number_symbol", "")
    print(f"Hoàn tất: văn bản {number} đã được ký số (trạng thái: {result.get('state', '')}).")
    return Exit.OK


# ---------------------------------------------------------------- arguments


def _vietnamese(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser._positionals.title = "tham số"
    parser._optionals.title = "tùy chọn"
    parser.add_argument("-h", "--help", action="help", help="in hướng dẫn này rồi thoát")
    return parser


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--server", metavar="URL", default=default, help=f"địa chỉ danvan (hoặc {SERVER_ENV})"
    )
    parser.add_argument(
        "--cafile",
        metavar="TỆP",
        default=default,
        help=f"chứng thư CA (PEM) của máy chủ khi dùng CA nội bộ (hoặc {CAFILE_ENV})",
    )


def _token_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pkcs11-module",
        metavar="TỆP",
        help=f"thư viện PKCS#11 của driver token: .so/.dll (hoặc {MODULE_ENV}); mặc định: "
        "tìm ở các vị trí thường gặp",
    )
    parser.add_argument(
        "--token-label", metavar="NHÃN", help=f"nhãn token (hoặc {TOKEN_LABEL_ENV})"
    )
    parser.add_argument(
        "--key-label", metavar="NHÃN", help=f"nhãn khóa bí mật (hoặc {KEY_LABEL_ENV})"
    )
    parser.add_argument("--key-id", metavar="HEX", help="CKA_ID của khóa bí mật, dạng hex")
    parser.add_argument(
        "--certificate",
        metavar="TỆP",
        help="tệp chứng thư (PEM/DER) của khóa, khi token không lưu chứng thư",
    )
    parser.add_argument(
        "--pin-stdin",
        action="store_true",
        help="đọc mã PIN từ một dòng của đầu vào chuẩn (tự động hóa); không bao giờ là tham số",
    )
    parser.add_argument("--yes", action="store_true", help="không hỏi xác nhận trước khi ký")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with the exit codes in its epilog."""
    codes = "\n".join(f"  {int(code):>2}  {text}" for code, text in EXIT_HELP.items())
    parser = argparse.ArgumentParser(
        prog="danvan-sign",
        description="Ký số văn bản danvan bằng USB token (PKCS#11) trên máy của chính người ký.\n"
        "Khóa bí mật và mã PIN không rời khỏi máy này.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
        epilog=(
            f"Mã truy cập API (tạo ở trang Cá nhân của danvan): biến {TOKEN_ENV} hoặc tệp "
            f"{config_dir() / 'token'} (chỉ chủ sở hữu đọc được, chmod 600); không bao giờ "
            "truyền bằng tham số dòng lệnh.\n\nVí dụ:\n"
            "  danvan-sign --server https://danvan.example.gov.vn danh-sach\n"
            "  danvan-sign xem 12\n"
            "  danvan-sign ky 12 --pkcs11-module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so\n"
            "\nMã thoát:\n" + codes
        ),
    )
    _vietnamese(parser)
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", title="lệnh")
    sub.required = True
    listing = _vietnamese(
        sub.add_parser(
            "danh-sach", aliases=["list"], help="các văn bản đang chờ bạn ký", add_help=False
        )
    )
    _common(listing, suppress=True)
    listing.set_defaults(func=cmd_list)
    show = _vietnamese(
        sub.add_parser("xem", aliases=["show"], help="tải và mở bản PDF chờ ký", add_help=False)
    )
    _common(show, suppress=True)
    show.add_argument(
        "request_id", type=int, metavar="MÃ", help="mã yêu cầu ký (cột Mã của danh-sach)"
    )
    show.add_argument("--no-open", action="store_true", help="chỉ in đường dẫn tệp PDF")
    show.set_defaults(func=cmd_show)
    sign = _vietnamese(
        sub.add_parser("ky", aliases=["sign"], help="ký một văn bản bằng USB token", add_help=False)
    )
    _common(sign, suppress=True)
    sign.add_argument(
        "request_id", type=int, metavar="MÃ", help="mã yêu cầu ký (cột Mã của danh-sach)"
    )
    _token_options(sign)
    sign.set_defaults(func=cmd_sign)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run danvan-sign; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in (
            "utf-8",
            "utf8",
        ):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Failure as failure:
        print(f"Lỗi: {failure.message}", file=sys.stderr)
        return int(failure.code)
    except KeyboardInterrupt:
        print("\nĐã hủy.", file=sys.stderr)
        return int(Exit.CANCELLED)
