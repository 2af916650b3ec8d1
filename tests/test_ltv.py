"""Long-term validation (PAdES B-LTA) against a live local PKI: Certomancer's CA, OCSP, CRL
and TSA over HTTP (tests/pki_live.py). Issue 12."""

from __future__ import annotations

import asyncio
import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from sqlalchemy import func, select, update

from danvan import keys
from danvan.documents import ltv, signing
from danvan.documents.loops import outside_event_loop
from danvan.extensions import db
from danvan.models import ArchivedDocument, ArchiveTimestamp, Blob
from danvan.operations import Invalid
from danvan.pki_services import TSA_VALID_TO
from danvan.verification import verify_document
from tests.factories import approve, signed_report


def _roots(local_pki) -> list:
    return [local_pki.cert("root")]


def _issued_pdf(archived: ArchivedDocument) -> bytes:
    return db.session.get(Blob, archived.pdf_sha256).data


@pytest.fixture
def issued(dept, ltv_app, cached_conversion):
    """A report signed by the PKI's director and issued with the PKI's agency certificate."""
    report, archived = signed_report(dept, ltv_app, issue=True, make_pdf=True)
    return report, archived, _issued_pdf(archived)


def test_issued_pdf_is_b_lta_and_validates_from_what_it_embeds(issued, local_pki):
    _, archived, pdf = issued
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    assert ltv.has_dss(reader)
    stamps = ltv.document_timestamps(pdf)
    assert len(stamps) == 1
    # The document timestamp covers the file but for the TSA's own revocation info, which
    # pyHanko adds to the DSS after it (an LTA update, nothing else).
    ts_status = outside_event_loop(validate_pdf_timestamp)(
        stamps[0], ValidationContext(trust_roots=_roots(local_pki), allow_fetching=False)
    )
    assert ts_status.intact and ts_status.valid and ts_status.trusted
    assert ts_status.coverage.name == "ENTIRE_REVISION"
    assert ts_status.modification_level.name == "LTA_UPDATES"
    agency_sig = reader.embedded_regular_signatures[-1]
    assert ltv.pades_level(agency_sig, stamps, True) == "B-LTA"
    outcome = ltv.validate_lta(agency_sig, _roots(local_pki))
    assert outcome.passed, outcome.indication
    assert outcome.status.intact and outcome.status.valid and outcome.status.trusted
    results = signing.validate_pdf(pdf, _roots(local_pki))
    assert [r.field_name for r in results] == ["ChuKyNguoiKy", "ChuKyCoQuan"]
    assert all(r.ok for r in results), [r.message for r in results]
    # Both signatures carry a signature timestamp, their revocation info is in the DSS and
    # the document timestamp follows them.
    assert [r.level for r in results] == ["B-LTA", "B-LTA"]
    director_sig = reader.embedded_regular_signatures[0]
    assert ltv.validate_lta(director_sig, _roots(local_pki)).passed
    verdict = verify_document(pdf, _roots(local_pki))
    assert verdict.valid, verdict.reasons
    assert verdict.document.id == archived.id


def test_without_a_tsa_issuing_stays_b_b(dept, app, key_dir, cached_conversion):
    _, archived = signed_report(dept, app, issue=True, make_pdf=True)
    pdf = _issued_pdf(archived)
    assert ltv.document_timestamps(pdf) == []
    assert not ltv.has_dss(PdfFileReader(io.BytesIO(pdf), strict=False))
    assert ltv.protected_until(pdf) is None


def _live_check(local_pki, label: str) -> None:
    vc = ValidationContext(
        trust_roots=_roots(local_pki), allow_fetching=True, revocation_mode="hard-fail"
    )
    validator = CertificateValidator(local_pki.cert(label), validation_context=vc)
    outside_event_loop(asyncio.run)(validator.async_validate_usage({"digital_signature"}))


def test_revoked_after_signing_still_valid_and_signing_after_revocation_refused(
    issued, dept, ltv_app, local_pki
):
    report, archived, pdf = issued
    agency_cert = local_pki.cert("agency").dump()
    _live_check(local_pki, "agency")  # good before
    local_pki.revoke("agency")
    assert local_pki.cert("agency").dump() == agency_cert  # the same certificate, now revoked
    with pytest.raises(RevokedError):
        _live_check(local_pki, "agency")
    # Signed and timestamped before the revocation, with the OCSP answer of that time
    # embedded: the document still validates, from the file alone.
    results = signing.validate_pdf(pdf, _roots(local_pki))
    assert all(r.ok for r in results), [r.message for r in results]
    assert verify_document(pdf, _roots(local_pki)).valid
    # A new issue with the revoked certificate is refused, and nothing is archived.
    approve(dept, dept.staff_a, dept.head_a, title="Hoạt động thêm sau khi thu hồi")
    db.session.commit()
    with pytest.raises(Invalid, match="Không ký được văn bản: .*đã bị thu hồi"):
        signed_report(dept, ltv_app, issue=True, make_pdf=True, supplement=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 1


def test_sign_by_signer_with_a_tsa_is_b_t(issued, dept, local_pki):
    report, _, _ = issued
    director_pdf = db.session.get(Blob, report.signed_pdf_sha256).data
    settings = signing.LtvSettings(local_pki.tsa_url, tuple(_roots(local_pki)))
    again = signing.sign_by_signer(
        director_pdf,
        signer=local_pki.signer("director"),
        signature_png=db.session.get(Blob, dept.director.signature_blob).data,
        docx=db.session.get(Blob, report.final_docx_sha256).data,
        docx_name="ban-thu.docx",
        signer_name=dept.director.full_name,
        reason="Thử dấu thời gian chữ ký",
        location="Hà Nam",
        field_name="ChuKyThu",
        ltv_settings=settings,
    )
    results = signing.validate_pdf(again, _roots(local_pki))
    assert [r.level for r in results] == ["B-T", "B-T"]
    assert results[-1].ok, results[-1].message


def test_changes_after_the_document_timestamp_are_caught(issued, local_pki):
    _, _, pdf = issued
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = w.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Rotate"] = generic.NumberObject(90)
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    results = signing.validate_pdf(out.getvalue(), _roots(local_pki))
    assert [r.intact for r in results] == [True, True]
    assert not any(r.ok for r in results)
    # A comment appended after the last revision changes no content (pyHanko ignores it),
    # but the file is no longer the archived one.
    assert not verify_document(pdf + b"\n% after\n", _roots(local_pki)).valid


def test_verify_archive_prints_until_when_the_timestamp_protects(issued, ltv_app):
    runner = ltv_app.test_cli_runner()
    out = runner.invoke(args=["danvan", "verify-archive"])
    assert out.exit_code == 0, out.output
    until = TSA_VALID_TO[8:10] + "/" + TSA_VALID_TO[5:7] + "/" + TSA_VALID_TO[:4]
    assert f"dấu thời gian bảo vệ đến {until}" in out.output


def test_retimestamp_archive_adds_a_new_version_and_keeps_the_original(issued, ltv_app):
    _, archived, pdf = issued
    runner = ltv_app.test_cli_runner()
    # Protected until the TSA certificate expires (2031): nothing due within 30 days.
    out = runner.invoke(args=["danvan", "retimestamp-archive", "--margin-days", "30"])
    assert out.exit_code == 0, out.output
    assert "Đã đóng dấu thời gian lại 0 văn bản." in out.output
    out = runner.invoke(args=["danvan", "retimestamp-archive", "--margin-days", "36500"])
    assert out.exit_code == 0, out.output
    assert f"ĐÃ ĐÓNG DẤU  {archived.number_symbol}" in out.output
    db.session.expire_all()
    row = db.session.scalars(select(ArchiveTimestamp)).one()
    assert row.archived_document_id == archived.id and row.previous_sha256 == archived.pdf_sha256
    newer = db.session.get(Blob, row.pdf_sha256).data
    assert newer.startswith(pdf) and len(ltv.document_timestamps(newer)) == 2
    assert db.session.get(ArchivedDocument, archived.id).pdf_sha256 == archived.pdf_sha256
    trusted = keys.trust_roots(ltv_app.config, ltv_app.instance_path)
    for version in (pdf, newer):  # the original and the newer version both verify
        verdict = verify_document(version, trusted)
        assert verdict.valid, verdict.reasons
        assert verdict.document.id == archived.id
    out = runner.invoke(args=["danvan", "verify-archive"])
    assert out.exit_code == 0, out.output
    # The archive's rows stay immutable: the new version cannot be rewritten in place.
    with pytest.raises(Exception, match="append-only|permission denied"):
        db.session.execute(update(ArchiveTimestamp).values(previous_sha256=row.pdf_sha256))
        db.session.flush()
    db.session.rollback()


def test_usb_token_signature_with_a_tsa_is_b_t(dept, ltv_app, local_pki, cached_conversion):
    """The director signs on his token (two phases): the server adds the signature timestamp
    over the value the token returned, so his signature is B-T like a server key's."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import Encoding

    from danvan import services
    from danvan import signature_requests as sig_ops
    from danvan.documents import pki
    from danvan.workflow import ReportState
    from tests.factories import services_for, submitted

    del ltv_app.config["SIGNING_CERTIFICATES"]["director"]  # his key is on the token only
    password = b"token"
    key, cert, _ = pki.load_pkcs12_key(local_pki.pkcs12("director", password), password)
    sig_ops.register_certificate(dept.director, cert.public_bytes(Encoding.PEM), actor=dept.admin)
    report = submitted(dept)
    svc = services_for(ltv_app, dept.director, dept.agency)
    assert svc.signer_identity is None
    req = sig_ops.request_signature(
        report, actor=dept.director, services=svc, expected_version=report.version
    )
    db.session.commit()
    values = {
        item.kind: key.sign(item.data, padding.PKCS1v15(), hashes.SHA256())
        for item in sig_ops.to_sign(req)
    }
    with ltv_app.test_request_context():
        roots = services.trust_roots()
    sig_ops.complete_signature(req, values, actor=dept.director, services=svc, trust_roots=roots)
    db.session.commit()
    assert report.state == ReportState.SIGNED
    [result] = signing.validate_pdf(db.session.get(Blob, report.signed_pdf_sha256).data, roots)
    assert result.ok, result.message
    assert result.level == "B-T"
