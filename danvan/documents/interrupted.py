"""Two-phase (interrupted) signing: prepare what must be signed, embed the signature later.

The server prepares the signer's PDF (visible signature field, the .docx embedded, the
/Contents region reserved) and the .docx's CMS signed attributes; the signer's own device
(USB token through the signing agent, or a server-side key) signs the to-be-signed bytes with
RSA PKCS#1 v1.5 / SHA-256; ``finish_pdf`` and ``finish_cms`` check that signature against the
certificate and only then assemble the CMS and embed it (pyHanko's interrupted signing).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import pdfa
from .pki import to_asn1_cert
from .signing import PdfaLost, _TimedPdfSigner, outside_event_loop, signer_signature_setup

ALGORITHM = "sha256_rsa_pkcs1v15"  # what the signer's device must do over the tbs bytes
MD = "sha256"


class SignatureRefused(ValueError):
    """A returned signature does not verify, or the prepared state is unusable (Vietnamese)."""


@dataclass(frozen=True)
class PreparedPdf:
    """The PDF in its final pre-signing state and what finishing it needs."""

    pdf: bytes  # /Contents reserved (zeros), everything else final
    state: dict  # JSON: document digest, reserved region, signing time
    tbs: bytes  # DER of the CMS signed attributes: what the signer's key signs


def _external_signer(
    cert: x509.Certificate, chain, signature: bytes | int | None
) -> signers.ExternalSigner:
    asn1_chain = [to_asn1_cert(c) for c in chain]
    return signers.ExternalSigner(
        signing_cert=to_asn1_cert(cert),
        cert_registry=SimpleCertificateStore.from_certs(asn1_chain),
        signature_value=signature,
    )


def _check_rsa(cert: x509.Certificate) -> rsa.RSAPublicKey:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureRefused("Chỉ hỗ trợ chứng thư số dùng khóa RSA.")
    return key


def signature_length(cert: x509.Certificate) -> int:
    """Bytes of an RSA signature made with the certificate's key."""
    return (_check_rsa(cert).key_size + 7) // 8


def _placeholder_size(cert: x509.Certificate) -> int:
    """Bytes to reserve for the signature value: the RSA size, or room for ECDSA (a server
    key signing at once; the USB-token path accepts RSA only)."""
    key = cert.public_key()
    return (key.key_size + 7) // 8 if isinstance(key, rsa.RSAPublicKey) else 160


def check_signature(cert: x509.Certificate, tbs: bytes, signature: bytes) -> None:
    """``SignatureRefused`` unless ``signature`` is the certificate key's RSA PKCS#1 v1.5
    SHA-256 signature over ``tbs`` (ECDSA SHA-256 for a server-side EC key)."""
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):  # a server-side key only (HSM)
            key.verify(signature, tbs, ec.ECDSA(hashes.SHA256()))
        else:
            _check_rsa(cert).verify(signature, tbs, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise SignatureRefused(
            "Chữ ký số gửi về không khớp với chứng thư số đã đăng ký của người ký hoặc không "
            "được tạo trên đúng nội dung cần ký."
        ) from exc


@outside_event_loop
def prepare_pdf(
    pdf: bytes,
    *,
    cert: x509.Certificate,
    chain=(),
    signature_png: bytes,
    docx: bytes,
    docx_name: str,
    signer_name: str,
    reason: str,
    location: str,
    field_name: str = "ChuKyNguoiKy",
    signed_at: datetime | None = None,
    timestamper=None,
) -> PreparedPdf:
    """The signer's visible PAdES signature prepared as sign_by_signer would make it.

    With ``timestamper`` the reserved space holds a signature timestamp too (finish_pdf may
    then add one: PAdES B-T)."""
    w, meta, style, field, when = signer_signature_setup(
        pdf,
        signature_png=signature_png,
        docx=docx,
        docx_name=docx_name,
        signer_name=signer_name,
        reason=reason,
        location=location,
        field_name=field_name,
        signed_at=signed_at,
    )
    placeholder = _external_signer(cert, chain, _placeholder_size(cert))
    pdf_signer = _TimedPdfSigner(
        meta,
        placeholder,
        stamp_style=style,
        new_field_spec=field,
        system_time=when,
        timestamper=timestamper,
    )

    async def run():
        digest, tbs_doc, output = await pdf_signer.async_digest_doc_for_signing(w)
        if tbs_doc.post_sign_instructions is not None:  # B-B only: nothing to do afterwards
            raise ValueError("post-signing instructions are not supported here")
        attrs = await placeholder.signed_attrs(
            digest.document_digest,
            MD,
            attr_settings=PdfCMSSignedAttributes(signing_time=when),
            use_pades=True,
        )
        return digest, output.getvalue(), attrs.dump()

    try:
        digest, prepared, tbs = asyncio.run(run())
    except Exception as exc:
        raise ValueError(f"Không chuẩn bị được văn bản để ký: {exc}") from exc
    lost = pdfa.pdfa_problems(prepared) if not pdfa.pdfa_problems(pdf) else []
    if lost:
        raise PdfaLost("Bản PDF sau khi ký không còn đạt chuẩn PDF/A-3b: " + " ".join(lost))
    state = {
        "document_digest": digest.document_digest.hex(),
        "reserved_region_start": digest.reserved_region_start,
        "reserved_region_end": digest.reserved_region_end,
        "prepared_sha256": hashlib.sha256(prepared).hexdigest(),
    }
    return PreparedPdf(prepared, state, tbs)


def _signed_attrs(tbs: bytes) -> cms.CMSAttributes:
    try:
        attrs = cms.CMSAttributes.load(tbs)
        _ = attrs.native
    except Exception as exc:
        raise SignatureRefused("Dữ liệu cần ký đã lưu bị hỏng.") from exc
    return attrs


def _message_digest(attrs: cms.CMSAttributes) -> bytes | None:
    for attr in attrs:
        if attr["type"].native == "message_digest":
            return attr["values"][0].native
    return None


@outside_event_loop
def finish_pdf(
    prepared: bytes,
    state: dict,
    tbs: bytes,
    signature: bytes,
    *,
    cert: x509.Certificate,
    chain=(),
    timestamper=None,
) -> bytes:
    """The signed PDF: ``signature`` checked over ``tbs``, then the CMS embedded (with a
    signature timestamp from ``timestamper``, if given and prepared for)."""
    check_signature(cert, tbs, signature)
    if hashlib.sha256(prepared).hexdigest() != state["prepared_sha256"]:
        raise SignatureRefused("Bản PDF đã chuẩn bị để ký không còn nguyên vẹn.")
    digest = PreparedByteRangeDigest(
        document_digest=bytes.fromhex(state["document_digest"]),
        reserved_region_start=int(state["reserved_region_start"]),
        reserved_region_end=int(state["reserved_region_end"]),
    )
    attrs = _signed_attrs(tbs)
    if _message_digest(attrs) != digest.document_digest:
        raise SignatureRefused("Dữ liệu cần ký không khớp với bản PDF đã chuẩn bị.")
    signer = _external_signer(cert, chain, signature)

    async def run():
        sig_cms = await signer.async_sign_prescribed_attributes(
            MD, signed_attrs=attrs, timestamper=timestamper
        )
        output = io.BytesIO(prepared)
        await PdfTBSDocument.async_finish_signing(output, digest, sig_cms)
        return output.getvalue()

    return asyncio.run(run())


@outside_event_loop
def prepare_cms(data: bytes, *, cert: x509.Certificate, signed_at: datetime) -> bytes:
    """The signed attributes (DER) of a detached CMS over ``data``: content type,
    message digest, signing time, signing certificate v2."""
    placeholder = _external_signer(cert, (), _placeholder_size(cert))
    digest = hashlib.sha256(data).digest()
    attrs = asyncio.run(
        placeholder.signed_attrs(
            digest,
            MD,
            attr_settings=PdfCMSSignedAttributes(signing_time=signed_at),
            is_pdf_sig=False,
        )
    )
    return attrs.dump()


@outside_event_loop
def finish_cms(
    data: bytes, tbs: bytes, signature: bytes, *, cert: x509.Certificate, chain=()
) -> bytes:
    """The detached, binary CMS (DER, no encapsulated content) with ``signature`` checked."""
    check_signature(cert, tbs, signature)
    attrs = _signed_attrs(tbs)
    if _message_digest(attrs) != hashlib.sha256(data).digest():
        raise SignatureRefused("Dữ liệu cần ký không khớp với tệp .docx đã chuẩn bị.")
    signer = _external_signer(cert, chain, signature)
    info = asyncio.run(
        signer.async_sign_prescribed_attributes(
            MD, signed_attrs=attrs, encap_content_info={"content_type": "data"}
        )
    )
    return info.dump()


@outside_event_loop
def sign_locally(signer: signers.Signer, tbs: bytes) -> bytes:
    """A server-side key (PKCS#12 demo, PKCS#11 HSM) signs ``tbs`` at once."""
    return asyncio.run(signer.async_sign_raw(tbs, MD))
