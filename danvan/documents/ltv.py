"""PAdES long-term validation: timestamps, embedded revocation info (DSS), levels B-B … B-LTA.

At signing, with a TSA configured (SIGNING_TSA_URL), signatures carry a signature timestamp
(B-T); at issue the revocation info of every signature is embedded in the DSS and a document
timestamp from the TSA seals it all (B-LTA). Validation of a signature followed by a document
timestamp uses only what the file embeds (ETSI EN 319 102-1 long-term validation): it still
holds after the signer's certificate expires or is revoked, as long as the timestamp chain
does. Without a TSA nothing changes (B-B, validated offline as before).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import EmbeddedPdfSignature, add_validation_info
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from .loops import outside_event_loop
from .pki import to_asn1_cert

DOC_TIMESTAMP = "/DocTimeStamp"
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass(frozen=True)
class LtvSettings:
    """What signing with long-term validation needs: the TSA's URL and the trusted roots."""

    tsa_url: str
    trust_roots: tuple = ()
    timeout: float = 10

    def timestamper(self) -> HTTPTimeStamper:
        """An RFC 3161 client for the TSA."""
        return HTTPTimeStamper(self.tsa_url, timeout=self.timeout)

    def validation_context(self) -> ValidationContext:
        """A fresh context that fetches OCSP/CRL and refuses a certificate it cannot check."""
        return ValidationContext(
            trust_roots=[to_asn1_cert(c) for c in self.trust_roots],
            allow_fetching=True,
            revocation_mode="hard-fail",
        )


def revocation_checkable(cert: asn1_x509.Certificate) -> bool:
    """Does the certificate name an OCSP responder or a CRL distribution point?"""
    return bool(cert.ocsp_urls or cert.crl_distribution_points)


@outside_event_loop
def with_validation_info(pdf: bytes, ltv: LtvSettings) -> bytes:
    """`pdf` with the chain and revocation info of each of its signatures in the DSS."""
    count = len(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_regular_signatures)
    for index in range(count):
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        emb = reader.embedded_regular_signatures[index]
        out = add_validation_info(emb, ltv.validation_context(), output=io.BytesIO())
        pdf = out.getvalue()
    return pdf


def is_document_timestamp(emb: EmbeddedPdfSignature) -> bool:
    """A PAdES document timestamp (/DocTimeStamp), not a signature."""
    return emb.sig_object_type == DOC_TIMESTAMP


def has_signature_timestamp(emb: EmbeddedPdfSignature) -> bool:
    """Does the signature carry an RFC 3161 signature timestamp (PAdES B-T)?"""
    attrs = emb.signer_info["unsigned_attrs"]
    if not attrs.native:
        return False
    return any(attr["type"].native == "signature_time_stamp_token" for attr in attrs)


def has_dss(reader: PdfFileReader) -> bool:
    """Does the document carry a Document Security Store (certificates, OCSP, CRLs)?"""
    try:
        return "/DSS" in reader.root
    except Exception:  # a damaged catalogue: no DSS to speak of
        return False


def pades_level(
    emb: EmbeddedPdfSignature, timestamps: Iterable[EmbeddedPdfSignature], dss: bool
) -> str:
    """B-B, B-T (signature timestamp), B-LT (+ DSS) or B-LTA (+ a later document timestamp)."""
    if not has_signature_timestamp(emb):
        return "B-B"
    if not dss:
        return "B-T"
    later = any(ts.signed_revision > emb.signed_revision for ts in timestamps)
    return "B-LTA" if later else "B-LT"


# The signer's certificate must come with its OCSP answer or CRL; a CA's only if it names one.
_REVOCATION_POLICY = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
)


def _lta_spec(trust_roots: Iterable) -> PdfSignatureValidationSpec:
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[to_asn1_cert(c) for c in trust_roots]),
        revinfo_policy=CertRevTrustPolicy(_REVOCATION_POLICY),
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


@dataclass(frozen=True)
class LtaOutcome:
    """pyHanko's status of the signature, and whether long-term validation passed."""

    status: object  # PdfSignatureStatus, or None when validation stopped early
    passed: bool
    indication: str
    best_time: datetime | None


@outside_event_loop
def validate_lta(emb: EmbeddedPdfSignature, trust_roots: Iterable) -> LtaOutcome:
    """Long-term validation with the embedded DSS and document timestamps only (no fetching)."""
    spec = _lta_spec(trust_roots)
    emb.compute_integrity_info(diff_policy=spec.diff_policy)  # coverage and changes after it
    result = asyncio.run(ades_lta_validation(emb, spec))
    return LtaOutcome(
        status=result.api_status,
        passed=result.ades_subindic == AdESPassed.OK,
        indication=f"{result.ades_subindic.status.name}/{result.ades_subindic.name}"
        + (f": {result.failure_msg}" if result.failure_msg else ""),
        best_time=getattr(result, "best_signature_time", None),
    )


def timestamp_cert(emb: EmbeddedPdfSignature) -> asn1_x509.Certificate | None:
    """The TSA certificate of a document timestamp."""
    try:
        return emb.signer_cert
    except Exception:
        return None


def document_timestamps(pdf: bytes) -> list[EmbeddedPdfSignature]:
    """The document timestamps of `pdf`, oldest first."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamps = [e for e in reader.embedded_signatures if is_document_timestamp(e)]
    return sorted(stamps, key=lambda e: e.signed_revision)


def protected_until(pdf: bytes) -> datetime | None:
    """Until when the timestamp chain protects `pdf`: its last document timestamp's TSA
    certificate expiry (None without a document timestamp)."""
    try:
        stamps = document_timestamps(pdf)
    except Exception:
        return None
    cert = timestamp_cert(stamps[-1]) if stamps else None
    return cert.not_valid_after if cert is not None else None


@outside_event_loop
def add_document_timestamp(pdf: bytes, ltv_settings: LtvSettings) -> bytes:
    """`pdf` with the last timestamp's revocation info in the DSS and a fresh document
    timestamp after it (extends the B-LTA chain before the TSA certificate expires)."""
    from pyhanko.sign.signers import PdfTimeStamper

    from . import pdfa

    stamper = PdfTimeStamper(ltv_settings.timestamper())
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out = stamper.update_archival_timestamp_chain(
        reader, ltv_settings.validation_context(), in_place=False, output=io.BytesIO()
    )
    stamped = out.getvalue()
    lost = pdfa.pdfa_problems(stamped) if not pdfa.pdfa_problems(pdf) else []
    if lost:
        raise ValueError("Bản PDF sau khi đóng dấu thời gian không còn đạt chuẩn PDF/A-3b.")
    return stamped
