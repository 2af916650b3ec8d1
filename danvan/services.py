"""Wiring between the app configuration and the signing operations (used by views and CLI)."""

from __future__ import annotations

from flask import current_app

from danvan import keys
from danvan.config import DEFAULTS
from danvan.documents import pdf as pdfmod
from danvan.documents import signing
from danvan.extensions import db
from danvan.models import Blob, Role, User
from danvan.operations.reports import HSM_PERSONAL_KEY, SigningServices


def _blob(sha: str | None) -> bytes | None:
    return db.session.get(Blob, sha).data if sha else None


def signing_services(actor: User, *, agency) -> SigningServices:
    """Certificates and images for ``actor`` signing (or issuing) on behalf of ``agency``."""
    config, instance = current_app.config, current_app.instance_path
    role_key = "director" if actor.has_role(Role.DIRECTOR) else "deputy"
    signer = agency_identity = signer_unavailable = agency_unavailable = None
    if actor.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR):
        # Refused (a PKCS#12 file outside demo mode) or absent: the signer signs with the
        # USB token if a certificate is registered, else "Ký duyệt" says why it cannot.
        signer, signer_unavailable = _identity(config, instance, actor.username, role_key)
        if signer is not None and signer.key is None:  # an HSM key makes no .p7s
            signer, signer_unavailable = None, HSM_PERSONAL_KEY
    if actor.has_role(Role.CLERK):
        agency_identity, agency_unavailable = _identity(config, instance, keys.SEAL_KEY)
    return SigningServices(
        signer_identity=signer,
        agency_identity=agency_identity,
        signer_unavailable=signer_unavailable,
        agency_unavailable=agency_unavailable,
        signature_png=_blob(actor.signature_blob),
        seal_png=_blob(agency.seal_sha256),
        make_pdf=pdfmod.libreoffice_available(),
        pdf_timeout=config["LIBREOFFICE_TIMEOUT"],
        signature_request_minutes=int(config["SIGNATURE_REQUEST_MINUTES"]),
        ltv=ltv_settings(config, instance),
        **verification_settings(config),
    )


def _identity(config, instance: str, *names: str):
    """(identity, None), or (None, why not) when one is configured but unusable."""
    try:
        return keys.load_identity(config, instance, *names), None
    except keys.SigningNotConfigured:
        return None, None
    except keys.SigningUnavailable as exc:
        return None, str(exc)


def ltv_settings(config, instance_path: str) -> signing.LtvSettings | None:
    """The TSA and trust roots for PAdES B-LTA, or None when no TSA is configured."""
    url = config.get("SIGNING_TSA_URL")
    if not url:
        return None
    roots = tuple(keys.trust_roots(config, instance_path))
    return signing.LtvSettings(url, roots, timeout=float(config["SIGNING_TSA_TIMEOUT"]))


def verification_settings(config) -> dict:
    """Where the printed verification URL points and the key its codes are made with (the
    app's secret; the app never runs without one, the fallback is for a bare seed_demo)."""
    return {
        "verify_base_url": config.get("BASE_URL") or DEFAULTS["BASE_URL"],
        "verify_key": str(config.get("SECRET_KEY") or "danvan-demo").encode(),
    }


def trust_roots():
    """Trusted CA certificates from the configuration (or the demo CA)."""
    return keys.trust_roots(current_app.config, current_app.instance_path)
