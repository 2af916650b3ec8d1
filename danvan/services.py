"""Wiring between the app configuration and the signing operations (used by views and CLI)."""

from __future__ import annotations

from contextlib import suppress

from flask import current_app

from danvan import keys
from danvan.config import DEFAULTS
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import Blob, Role, User
from danvan.operations.reports import SigningServices


def _blob(sha: str | None) -> bytes | None:
    return db.session.get(Blob, sha).data if sha else None


def signing_services(actor: User, *, agency) -> SigningServices:
    """Certificates and images for ``actor`` signing (or issuing) on behalf of ``agency``."""
    config, instance = current_app.config, current_app.instance_path
    role_key = "director" if actor.has_role(Role.DIRECTOR) else "deputy"
    signer = agency_identity = None
    with suppress(keys.SigningUnavailable):
        signer = keys.load_identity(config, instance, actor.username, role_key)
    if actor.has_role(Role.CLERK):
        with suppress(keys.SigningUnavailable):
            agency_identity = keys.load_identity(config, instance, "agency")
    return SigningServices(
        signer_identity=signer if actor.has_role(Role.DIRECTOR, Role.DEPUTY_DIRECTOR) else None,
        agency_identity=agency_identity,
        signature_png=_blob(actor.signature_blob),
        seal_png=_blob(agency.seal_sha256),
        make_pdf=pdfmod.libreoffice_available(),
        pdf_timeout=config["LIBREOFFICE_TIMEOUT"],
        signature_request_minutes=int(config["SIGNATURE_REQUEST_MINUTES"]),
        **verification_settings(config),
    )


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
