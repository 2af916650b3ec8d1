"""The agency seal's key in a PKCS#11 HSM slot (SoftHSM2 in the tests): pyHanko's PKCS#11 signer.

A slot is configured in SIGNING_CERTIFICATES as ``{"pkcs11": {"module": ..., "token_label": ...,
"key_label": ..., "cert_label": ... or "cert": PEM path, "pin": ... or "pin_env": ...}}``. Each
signature opens its own session, logs in once and closes it: a wrong PIN is reported, never
retried (the HSM would lock the PIN after a few failures). Messages are in Vietnamese.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from danvan.documents import pki

# Configuration keys of a "pkcs11" entry.
SLOT_KEYS = {"module", "token_label", "key_label", "cert_label", "cert", "chain", "pin", "pin_env"}

# One lock per PKCS#11 module: the login state of a token is shared by all the sessions a
# process holds on it, so two signatures at once would log in twice.
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class HsmUnavailable(RuntimeError):
    """The HSM slot cannot be used (module, token, PIN, key, certificate); Vietnamese message."""


@dataclass(frozen=True)
class Pkcs11Slot:
    """Where the key is: module, token label, key label, and how the PIN and certificate come."""

    name: str  # the SIGNING_CERTIFICATES key, e.g. "agency"
    module: str
    token_label: str
    key_label: str
    cert_label: str | None = None
    cert_path: str | None = None
    chain_paths: tuple[str, ...] = ()
    pin: str | None = None
    pin_env: str | None = None

    @classmethod
    def from_config(cls, name: str, entry: dict) -> Pkcs11Slot:
        """The slot of one SIGNING_CERTIFICATES entry's "pkcs11" mapping; refused if incomplete."""
        where = f"SIGNING_CERTIFICATES[“{name}”][“pkcs11”]"
        if not isinstance(entry, dict):
            raise HsmUnavailable(f"{where} phải là một dict.")
        unknown = sorted(set(entry) - SLOT_KEYS)
        if unknown:
            raise HsmUnavailable(f"{where}: khóa không hợp lệ: {', '.join(unknown)}.")
        missing = [k for k in ("module", "token_label", "key_label") if not entry.get(k)]
        if not entry.get("cert_label") and not entry.get("cert"):
            missing.append("cert_label hoặc cert")
        if not entry.get("pin") and not entry.get("pin_env"):
            missing.append("pin hoặc pin_env")
        if missing:
            raise HsmUnavailable(f"{where}: thiếu {', '.join(missing)}.")
        return cls(
            name=name,
            module=str(entry["module"]),
            token_label=str(entry["token_label"]),
            key_label=str(entry["key_label"]),
            cert_label=entry.get("cert_label"),
            cert_path=entry.get("cert"),
            chain_paths=tuple(entry.get("chain") or ()),
            pin=entry.get("pin"),
            pin_env=entry.get("pin_env"),
        )

    def user_pin(self) -> str:
        """The PIN from the configuration or from its environment variable."""
        if self.pin:
            return str(self.pin)
        value = os.environ.get(self.pin_env or "")
        if not value:
            raise HsmUnavailable(
                f"Chưa đặt mã PIN của HSM cho “{self.name}”: biến môi trường {self.pin_env} "
                "trống hoặc không có."
            )
        return value


def _lock(module: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(module, threading.Lock())


def _library(slot: Pkcs11Slot):
    from pkcs11 import PKCS11Error, lib

    if not os.path.isfile(slot.module):
        raise HsmUnavailable(
            f"Không tìm thấy thư viện PKCS#11 “{slot.module}” của HSM (con dấu số “{slot.name}”)."
        )
    try:
        return lib(slot.module)
    except PKCS11Error as exc:
        raise HsmUnavailable(
            f"Không nạp được thư viện PKCS#11 “{slot.module}” của HSM: {exc}"
        ) from exc


def _token(library, slot: Pkcs11Slot):
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import find_token

    # find_token (what open_pkcs11_session uses) answers None for a missing token, which
    # tells "no such token" apart from the other PKCS#11 errors.
    token = find_token(library.get_slots(), token_criteria=TokenCriteria(label=slot.token_label))
    if token is None:
        raise HsmUnavailable(
            f"Không tìm thấy token có nhãn “{slot.token_label}” trên HSM "
            f"(thư viện {slot.module}); kiểm tra token_label và HSM đã được cắm/kết nối."
        )
    return token


def _login_refused(slot: Pkcs11Slot, exc: Exception) -> HsmUnavailable:
    from pkcs11 import PinExpired, PinIncorrect, PinLenRange, PinLocked

    if isinstance(exc, PinIncorrect | PinLenRange):
        return HsmUnavailable(
            f"Mã PIN của HSM (token “{slot.token_label}”) không đúng. danvan không thử lại để "
            "HSM không bị khóa; hãy kiểm tra mã PIN trong cấu hình."
        )
    if isinstance(exc, PinLocked):
        return HsmUnavailable(
            f"Mã PIN của HSM (token “{slot.token_label}”) đã bị khóa; cần mở khóa bằng mã SO."
        )
    if isinstance(exc, PinExpired):
        return HsmUnavailable(f"Mã PIN của HSM (token “{slot.token_label}”) đã hết hạn.")
    return HsmUnavailable(
        f"Không đăng nhập được vào HSM (token “{slot.token_label}”): {type(exc).__name__}."
    )


def read_certificate(slot: Pkcs11Slot) -> x509.Certificate:
    """The slot's certificate: from its PEM file, or read from the token (no login needed)."""
    if slot.cert_path:
        try:
            return x509.load_pem_x509_certificate(Path(slot.cert_path).read_bytes())
        except (OSError, ValueError) as exc:
            raise HsmUnavailable(
                f"Không đọc được tệp chứng thư số “{slot.cert_path}” của “{slot.name}”."
            ) from exc
    from pkcs11 import Attribute, ObjectClass, PKCS11Error

    with _lock(slot.module):
        token = _token(_library(slot), slot)
        try:
            with token.open() as session:  # a certificate is a public object
                query = {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: slot.cert_label}
                found = [obj[Attribute.VALUE] for obj in session.get_objects(query)]
        except PKCS11Error as exc:
            raise HsmUnavailable(
                f"Không đọc được chứng thư số trên HSM (token “{slot.token_label}”): "
                f"{type(exc).__name__}."
            ) from exc
    if len(found) != 1:
        raise HsmUnavailable(
            f"Token “{slot.token_label}” có {len(found)} chứng thư số nhãn “{slot.cert_label}” "
            "(cần đúng một)."
        )
    return x509.load_der_x509_certificate(found[0])


def read_chain(slot: Pkcs11Slot) -> tuple[x509.Certificate, ...]:
    """Intermediate CA certificates named in "chain" (PEM files), embedded with the signature."""
    out: list[x509.Certificate] = []
    for path in slot.chain_paths:
        try:
            out.extend(pki.load_pem_certs(Path(path).read_bytes()))
        except (OSError, ValueError) as exc:
            raise HsmUnavailable(
                f"Không đọc được tệp chứng thư “{path}” của “{slot.name}”."
            ) from exc
    return tuple(out)


def _check_key_matches(slot: Pkcs11Slot, key, cert: x509.Certificate) -> None:
    """Refuse a key that is not the certificate's: an RSA key's modulus and exponent are
    public attributes even on a non-extractable key, so no signature is spent on the check."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, PKCS11Error

    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return  # EC keys do not expose their point on the private object; pyHanko checks later
    try:
        modulus = int.from_bytes(key[Attribute.MODULUS], "big")
        exponent = int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big")
    except PKCS11Error:
        return  # a module that hides them: the signature's own validation still catches it
    numbers = public.public_numbers()
    if (modulus, exponent) != (numbers.n, numbers.e):
        raise HsmUnavailable(
            f"Khóa bí mật “{slot.key_label}” trên token “{slot.token_label}” không khớp với "
            f"chứng thư số của “{slot.name}” ({cert.subject.rfc4514_string()}): kiểm tra "
            "key_label và cert_label/cert trong cấu hình. Chưa có gì được ký."
        )


@contextmanager
def open_signer(slot: Pkcs11Slot, cert: x509.Certificate, chain=()) -> Iterator[object]:
    """A pyHanko PKCS11Signer on a fresh, logged-in session, closed when the block ends."""
    from pkcs11 import PKCS11Error
    from pyhanko.sign.pkcs11 import PKCS11Signer

    pin = slot.user_pin()
    with _lock(slot.module):
        library = _library(slot)
        token = _token(library, slot)
        try:
            session = token.open(user_pin=pin)
        except PKCS11Error as exc:
            # python-pkcs11 leaves the session it opened before the refused C_Login open;
            # finalizing the module (nothing else of ours uses it: we hold its lock) closes it.
            library.reinitialize()
            raise _login_refused(slot, exc) from exc
        try:
            signer = PKCS11Signer(
                session,
                key_label=slot.key_label,
                signing_cert=pki.to_asn1_cert(cert),
                ca_chain=[pki.to_asn1_cert(c) for c in chain],
            )
            try:
                signer._load_objects()  # the key handle now: a missing key is said here
            except PKCS11Error as exc:
                raise HsmUnavailable(
                    f"Không tìm thấy khóa bí mật nhãn “{slot.key_label}” trên token "
                    f"“{slot.token_label}” (hoặc có nhiều hơn một)."
                ) from exc
            _check_key_matches(slot, signer._key_handle, cert)
            try:
                yield signer
            except Exception as exc:
                cause = exc if isinstance(exc, PKCS11Error) else exc.__cause__
                if isinstance(cause, PKCS11Error):
                    raise HsmUnavailable(
                        f"HSM từ chối thao tác ký (token “{slot.token_label}”): "
                        f"{type(cause).__name__}."
                    ) from exc
                raise
        finally:
            session.close()
