"""The signer's USB token through PKCS#11 (python-pkcs11): find it, read its certificate, sign.

One login per run: ``signing_session`` calls C_Login exactly once and never again after a
wrong PIN, so danvan-sign itself never brings a token closer to locking than the signer did.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# PKCS#11 modules tried in this order when --pkcs11-module / DANVAN_PKCS11_MODULE is not given.
# A vendor's token (Ban Cơ yếu Chính phủ, VNPT-CA, Viettel-CA, …) ships its own driver: give its
# path. On Linux, p11-kit's proxy reaches every driver registered with p11-kit.
LINUX_MODULES = (
    "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
    "/usr/lib64/p11-kit-proxy.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib64/pkcs11/opensc-pkcs11.so",
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)
WINDOWS_MODULES = (
    r"C:\Windows\System32\opensc-pkcs11.dll",
    r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll",
    r"C:\SoftHSM2\lib\softhsm2-x64.dll",
)
MACOS_MODULES = (
    "/Library/OpenSC/lib/opensc-pkcs11.so",
    "/usr/local/lib/opensc-pkcs11.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
ALGORITHM = "sha256_rsa_pkcs1v15"


class TokenError(Exception):
    """The token or its driver cannot be used (message in Vietnamese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PinIncorrect(TokenError):
    """The token answered CKR_PIN_INCORRECT to the one login attempt."""


class PinLocked(TokenError):
    """The token's user PIN is locked (CKR_PIN_LOCKED or the token flag)."""


@dataclass(frozen=True)
class TokenStatus:
    """What the token says about its PIN before anything is tried."""

    label: str
    pin_count_low: bool
    pin_final_try: bool
    pin_locked: bool
    protected_path: bool  # a PIN pad on the reader: the PIN is typed there, not here


def sha256_hex(der: bytes) -> str:
    """The certificate fingerprint as danvan stores it: lowercase hex SHA-256 of the DER."""
    return hashlib.sha256(der).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """A fingerprint written with or without colons/spaces, in lowercase hex."""
    return "".join(ch for ch in (text or "").lower() if ch in "0123456789abcdef")


def certificate_file_der(path: str) -> bytes:
    """A certificate file (PEM or DER) as DER bytes."""
    import base64

    raw = Path(path).read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in raw:
        block = raw.split(b"-----BEGIN CERTIFICATE-----", 1)[1].split(b"-----END", 1)[0]
        return base64.b64decode(b"".join(block.split()))
    return raw


def default_module() -> str | None:
    """The first PKCS#11 module of this system's usual places that exists."""
    if sys.platform == "win32":
        candidates = WINDOWS_MODULES
    elif sys.platform == "darwin":
        candidates = MACOS_MODULES
    else:
        candidates = LINUX_MODULES
    return next((path for path in candidates if os.path.exists(path)), None)


def _pkcs11():
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - the wheel depends on python-pkcs11
        raise TokenError(
            "Thiếu thư viện python-pkcs11; cài bằng: pip install python-pkcs11"
        ) from exc
    return pkcs11


class Token:
    """One PKCS#11 token (a slot with a token present) of one driver."""

    def __init__(self, module: str | None, token_label: str | None = None):
        pkcs11 = _pkcs11()
        module = module or default_module()
        if not module:
            raise TokenError(
                "Không tìm thấy trình điều khiển PKCS#11 của USB token. Cài driver của token "
                "rồi chỉ ra tệp thư viện (.so/.dll) bằng --pkcs11-module hoặc biến "
                "DANVAN_PKCS11_MODULE."
            )
        if not os.path.exists(module):
            raise TokenError(f"Không có tệp trình điều khiển PKCS#11 «{module}».")
        try:
            self._lib = pkcs11.lib(module)
        except (RuntimeError, OSError) as exc:
            raise TokenError(f"Không nạp được trình điều khiển PKCS#11 «{module}»: {exc}") from exc
        self.module = module
        self._token = self._find(token_label)

    def _find(self, label: str | None):
        pkcs11 = _pkcs11()
        try:
            tokens = list(
                self._lib.get_tokens(token_label=label) if label else self._lib.get_tokens()
            )
        except pkcs11.PKCS11Error as exc:
            raise TokenError(
                f"Trình điều khiển PKCS#11 báo lỗi khi tìm token: {_name(exc)}"
            ) from exc
        if not tokens:
            if label:
                raise TokenError(f"Không tìm thấy token có nhãn «{label}». Token đã cắm chưa?")
            raise TokenError("Không tìm thấy USB token nào. Hãy cắm token rồi thử lại.")
        if len(tokens) > 1:
            labels = ", ".join(f"«{t.label}»" for t in tokens)
            raise TokenError(f"Có nhiều token ({labels}); chọn một bằng --token-label.")
        return tokens[0]

    def status(self) -> TokenStatus:
        """The token's PIN flags, read without logging in."""
        flags = _pkcs11().TokenFlag(self._token.flags)
        flag = _pkcs11().TokenFlag
        return TokenStatus(
            label=self._token.label,
            pin_count_low=bool(flags & flag.USER_PIN_COUNT_LOW),
            pin_final_try=bool(flags & flag.USER_PIN_FINAL_TRY),
            pin_locked=bool(flags & flag.USER_PIN_LOCKED),
            protected_path=bool(flags & flag.PROTECTED_AUTHENTICATION_PATH),
        )

    def public_certificates(self) -> list[tuple[bytes, bytes]]:
        """(CKA_ID, DER) of the certificates readable without a login."""
        pkcs11 = _pkcs11()
        try:
            with self._token.open() as session:
                return _certificates(session)
        except pkcs11.PKCS11Error as exc:
            raise TokenError(f"Không đọc được token: {_name(exc)}") from exc

    @contextmanager
    def signing_session(self, pin: str | None) -> Iterator[Signer]:
        """A logged-in session (exactly ONE C_Login); ``pin`` None means the reader's PIN pad."""
        pkcs11 = _pkcs11()
        user_pin = pkcs11.PROTECTED_AUTH if pin is None else pin
        try:
            session = self._token.open(user_pin=user_pin)
        except pkcs11.exceptions.PinIncorrect as exc:
            raise PinIncorrect("CKR_PIN_INCORRECT") from exc
        except pkcs11.exceptions.PinLocked as exc:
            raise PinLocked("CKR_PIN_LOCKED") from exc
        except (pkcs11.exceptions.PinLenRange, pkcs11.exceptions.PinInvalid) as exc:
            raise PinIncorrect(_name(exc)) from exc
        except pkcs11.PKCS11Error as exc:
            raise TokenError(f"Không đăng nhập được vào token: {_name(exc)}") from exc
        try:
            yield Signer(session)
        finally:
            session.close()


class Signer:
    """A logged-in session: the certificates and the private keys it can use."""

    def __init__(self, session):
        self._session = session

    def certificates(self) -> list[tuple[bytes, bytes]]:
        """(CKA_ID, DER) of every certificate on the token."""
        return _certificates(self._session)

    def private_key(self, *, key_id: bytes | None = None, label: str | None = None):
        """The one private key that matches ``key_id``/``label`` (either may be None)."""
        pkcs11 = _pkcs11()
        attrs = {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY}
        if key_id is not None:
            attrs[pkcs11.Attribute.ID] = key_id
        if label is not None:
            attrs[pkcs11.Attribute.LABEL] = label
        keys = list(self._session.get_objects(attrs))
        if not keys:
            wanted = f" nhãn «{label}»" if label else ""
            wanted += f" mã {key_id.hex()}" if key_id else ""
            raise TokenError(f"Không tìm thấy khóa bí mật{wanted} trên token.")
        if len(keys) > 1:
            raise TokenError(
                "Token có nhiều khóa bí mật phù hợp; chọn một bằng --key-label hoặc --key-id."
            )
        return keys[0]

    def key_id(self, key) -> bytes:
        """The CKA_ID of a key (b"" when it has none)."""
        pkcs11 = _pkcs11()
        try:
            return bytes(key[pkcs11.Attribute.ID])
        except pkcs11.PKCS11Error:
            return b""

    def sign(self, key, data: bytes) -> bytes:
        """RSA PKCS#1 v1.5 over SHA-256 of ``data`` on the token (CKM_SHA256_RSA_PKCS)."""
        pkcs11 = _pkcs11()
        try:
            return bytes(key.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS))
        except pkcs11.PKCS11Error as exc:
            raise TokenError(f"Token không ký được: {_name(exc)}") from exc


def _certificates(session) -> list[tuple[bytes, bytes]]:
    pkcs11 = _pkcs11()
    out = []
    for cert in session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE}):
        try:
            der = bytes(cert[pkcs11.Attribute.VALUE])
        except pkcs11.PKCS11Error:
            continue
        try:
            cka_id = bytes(cert[pkcs11.Attribute.ID])
        except pkcs11.PKCS11Error:
            cka_id = b""
        out.append((cka_id, der))
    return out


def _name(exc: Exception) -> str:
    return type(exc).__name__ + (f" ({exc})" if str(exc) else "")
