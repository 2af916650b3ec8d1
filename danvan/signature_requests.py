"""Two-phase signing of a report with the signer's USB token (the signing agent, danvan-sign).

``request_signature`` does what ``sign_report`` does up to the signature: the same checks, the
number taken from the sequence, the final .docx and the prepared PDF; it stores them in a
``SignatureRequest``. The agent fetches the signed attributes to sign, signs them on the token
and sends the signature values back: ``complete_signature`` checks them against the registered
certificate, embeds them, validates both files and only then writes the signature as
``sign_report`` does (the report is "Đã ký" only when both signatures are in).

Numbers: the request takes the number from the sequence at once (the documents carry it).
When a request ends unsigned (expired, cancelled, refused, the report changed), the number is
given back if no later number was taken meanwhile; otherwise it stays held by the report and
its next request (or server-side signature) uses it again, so the register has no gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from danvan.blobs import store_blob
from danvan.documents import interrupted, signing
from danvan.documents.interrupted import ALGORITHM, SignatureRefused
from danvan.documents.nd30_check import check_report_docx
from danvan.documents.pki import cert_common_name, cert_fingerprint
from danvan.extensions import db
from danvan.models import Blob, NumberSequence, Report, User
from danvan.models.signatures import RequestState, SignatureRequest, SignerCertificate
from danvan.operations import Conflict, Invalid, NotAllowed, OperationError
from danvan.operations import reports as ops
from danvan.operations.entries import flush_or_conflict
from danvan.text import format_datetime, to_vn, utcnow
from danvan.workflow import ReportState

ALREADY_ANSWERED = "Yêu cầu ký này đã được trả lời hoặc đã bị hủy; không nhận thêm chữ ký."
EXPIRED = "Yêu cầu ký đã hết hạn; vui lòng bấm “Ký duyệt” lại trên trang báo cáo."
REPORT_MOVED = (
    "Báo cáo đã thay đổi (bị trả lại hoặc sửa) sau khi yêu cầu ký được tạo; yêu cầu đã bị hủy."
)
CERT_UNUSABLE = "Chứng thư số đã đăng ký của người ký đã bị thu hồi hoặc hết hạn."
PENDING = (
    "Báo cáo số {number} đang chờ ký bằng USB token (yêu cầu hết hạn lúc {expires}): hãy ký "
    "bằng danvan-sign hoặc hủy yêu cầu đó trước khi tạo yêu cầu ký mới."
)


class RequestPending(Conflict):
    """A second "Ký duyệt" while the report's signature request waits for the token."""

    def __init__(self, request: SignatureRequest):
        super().__init__(
            PENDING.format(
                number=request.number_symbol,
                expires=format_datetime(request.expires_at),
            )
        )


class AlreadyAnswered(Conflict):
    """A second answer to one request (a replay) or an answer to a cancelled one."""


class RequestExpired(OperationError):
    """The request expired before the signatures came back."""

    status = 410


class SignatureNotAccepted(Invalid):
    """The returned signatures do not verify: the request is refused, nothing is written."""


# --- certificates ---------------------------------------------------------------------------


def register_certificate(
    user: User, data: bytes, *, actor: User | None = None, now: datetime | None = None
) -> SignerCertificate:
    """Register a signer's certificate (PEM or DER) for two-phase signing."""
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as exc:
        raise Invalid("Tệp không phải chứng thư số X.509 (PEM hoặc DER).") from exc
    try:
        interrupted.signature_length(cert)
    except SignatureRefused as exc:
        raise Invalid(str(exc)) from exc
    fingerprint = cert_fingerprint(cert)
    existing = db.session.scalar(
        select(SignerCertificate).where(SignerCertificate.sha256 == fingerprint)
    )
    if existing is not None:
        raise Invalid(f"Chứng thư số này đã được đăng ký cho người dùng {existing.user.username}.")
    moment = now or utcnow()
    if cert.not_valid_after_utc <= moment:
        raise Invalid("Chứng thư số đã hết hạn.")
    row = SignerCertificate(
        user_id=user.id,
        certificate_der=cert.public_bytes(Encoding.DER),
        sha256=fingerprint,
        subject_cn=cert_common_name(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        registered_by_id=actor.id if actor else None,
        registered_at=moment,
    )
    db.session.add(row)
    db.session.flush()
    return row


def registered_certificate(user: User, now: datetime | None = None) -> SignerCertificate | None:
    """The user's newest usable registered certificate, if any."""
    moment = now or utcnow()
    rows = db.session.scalars(
        select(SignerCertificate)
        .where(SignerCertificate.user_id == user.id, SignerCertificate.revoked_at.is_(None))
        .order_by(SignerCertificate.registered_at.desc(), SignerCertificate.id.desc())
    )
    return next((row for row in rows if row.usable(moment)), None)


def certificate_of(row: SignerCertificate) -> x509.Certificate:
    """The registered certificate as a cryptography object."""
    return x509.load_der_x509_certificate(row.certificate_der)


# --- numbers --------------------------------------------------------------------------------


def _give_back(request: SignatureRequest) -> None:
    """Return the request's number to the sequence if it is still the last one taken."""
    if request.number_released:
        return
    table = NumberSequence.__table__
    done = db.session.execute(
        update(table)
        .where(
            table.c.agency_id == request.agency_id,
            table.c.year == request.number_year,
            table.c.last_number == request.number,
        )
        .values(last_number=request.number - 1)
    ).rowcount
    if done == 1:
        request.number_released = True


def held_request(report: Report, year: int) -> SignatureRequest | None:
    """An earlier unsigned request of ``report`` whose number could not be given back."""
    return db.session.scalar(
        select(SignatureRequest)
        .where(
            SignatureRequest.report_id == report.id,
            SignatureRequest.number_year == year,
            SignatureRequest.number_released.is_(False),
            SignatureRequest.state != RequestState.COMPLETED,
        )
        .order_by(SignatureRequest.id.desc())
        .limit(1)
    )


def use_held_number(report: Report, year: int) -> None:
    """The report signs with its held number: no request holds it any more."""
    held = held_request(report, year)
    if held is not None:
        held.number_released = True


def _end(request: SignatureRequest, state: RequestState, reason: str | None = None) -> None:
    request.state = state
    request.refusal = reason
    request.completed_at = utcnow() if state != RequestState.EXPIRED else None
    _give_back(request)


def expire_requests(now: datetime | None = None) -> int:
    """Mark the pending requests past their expiry as expired (numbers given back, newest
    first); how many."""
    moment = now or utcnow()
    rows = list(
        db.session.scalars(
            select(SignatureRequest)
            .where(
                SignatureRequest.state == RequestState.PENDING,
                SignatureRequest.expires_at <= moment,
            )
            .order_by(SignatureRequest.number.desc())
        )
    )
    for row in rows:
        _end(row, RequestState.EXPIRED)
    if rows:
        flush_or_conflict()
    return len(rows)


# --- requests -------------------------------------------------------------------------------


def open_request(report: Report, now: datetime | None = None) -> SignatureRequest | None:
    """The report's pending, unexpired request."""
    return db.session.scalar(
        select(SignatureRequest).where(
            SignatureRequest.report_id == report.id,
            SignatureRequest.state == RequestState.PENDING,
            SignatureRequest.expires_at > (now or utcnow()),
        )
    )


def latest_request(report: Report) -> SignatureRequest | None:
    """The report's newest request, whatever its state."""
    return db.session.scalar(
        select(SignatureRequest)
        .where(SignatureRequest.report_id == report.id)
        .order_by(SignatureRequest.id.desc())
        .limit(1)
    )


def pending_for(user: User, now: datetime | None = None) -> list[SignatureRequest]:
    """The user's pending, unexpired requests, oldest first."""
    return list(
        db.session.scalars(
            select(SignatureRequest)
            .options(selectinload(SignatureRequest.report))
            .where(
                SignatureRequest.signer_id == user.id,
                SignatureRequest.state == RequestState.PENDING,
                SignatureRequest.expires_at > (now or utcnow()),
            )
            .order_by(SignatureRequest.id)
        )
    )


def request_signature(
    report: Report,
    *,
    actor: User,
    services: ops.SigningServices,
    expected_version: int | None,
    expected_number: int | None = None,
    accept_deviations: bool = False,
    now: datetime | None = None,
) -> SignatureRequest:
    """Prepare the signature of ``report`` for the actor's USB token: number, final .docx,
    prepared PDF and what to sign, stored as a pending request that expires after
    ``services.signature_request_minutes``. Refused while another request of the report waits
    (``RequestPending``)."""
    moment = now or utcnow()
    expire_requests(moment)
    current = open_request(report, moment)
    if current is not None:
        raise RequestPending(current)
    row = registered_certificate(actor, moment)
    if row is None:
        raise Invalid(
            "Chưa đăng ký chứng thư số (USB token) cho người ký và máy chủ không giữ khóa ký "
            "của người ký; không thể ký số."
        )
    cert = certificate_of(row)
    transition, _entries = ops._check_can_sign(
        report, actor, services, expected_version, registered=True
    )
    checked_version = report.version
    signed_date = to_vn(moment).date()
    for _attempt in range(ops.SIGN_ATTEMPTS):
        held = held_request(report, signed_date.year)
        if held is not None:
            number = held.number  # the report's own number, not given back earlier
        else:
            number = ops._number_to_take(report, signed_date.year, expected_number)
        prepared = ops._prepare_signed(
            report,
            actor=actor,
            services=services,
            cert=cert,
            number=number,
            signed_date=signed_date,
            moment=moment,
        )
        note = ops._deviation_note(
            check_report_docx(prepared.final_docx, final=True), "ký", accept_deviations
        )
        releasable = ops._sqlite_idle()
        if not ops._lock_report(report, checked_version, transition.source):
            raise Conflict(ops.REPORT_STALE)
        parallel = open_request(report, moment)
        if parallel is not None:  # a parallel "Ký duyệt" won
            raise RequestPending(parallel)
        if held is not None:
            held.number_released = True  # moves to the new request
            break
        if ops.take_number(report.campaign.agency.id, signed_date.year, number):
            break
        if releasable:
            db.session.rollback()
    else:
        raise Conflict(ops.NUMBER_BUSY)
    pdf = prepared.pdf
    request = SignatureRequest(
        report_id=report.id,
        signer_id=actor.id,
        certificate_id=row.id,
        report_version=checked_version,
        agency_id=report.campaign.agency.id,
        number=number,
        number_year=signed_date.year,
        number_symbol=prepared.number_symbol,
        signed_date=signed_date,
        signing_moment=moment,
        verify_code=prepared.verify_code,
        note=note,
        prepared_pdf_sha256=store_blob(pdf.pdf).sha256 if pdf else None,
        pdf_state=pdf.state if pdf else None,
        pdf_tbs=pdf.tbs if pdf else None,
        docx_sha256=store_blob(prepared.final_docx).sha256,
        docx_tbs=prepared.docx_tbs,
        state=RequestState.PENDING,
        created_at=moment,
        expires_at=moment + timedelta(minutes=services.signature_request_minutes),
    )
    db.session.add(request)
    flush_or_conflict()
    return request


def cancel_request(request: SignatureRequest, *, actor: User) -> None:
    """The signer withdraws a pending request ("Hủy yêu cầu"); its number is given back."""
    if request.signer_id != actor.id:
        raise NotAllowed("Chỉ người ký mới hủy được yêu cầu ký của mình.")
    if request.state != RequestState.PENDING:
        raise AlreadyAnswered(ALREADY_ANSWERED)
    _end(request, RequestState.CANCELLED)
    flush_or_conflict()


@dataclass(frozen=True)
class ToSign:
    """One item the agent signs: kind ("pdf", "docx"), algorithm, the tbs bytes."""

    kind: str
    algorithm: str
    data: bytes


def to_sign(request: SignatureRequest) -> list[ToSign]:
    """What the signer's token must sign, PDF first."""
    items = []
    if request.pdf_tbs is not None:
        items.append(ToSign("pdf", ALGORITHM, request.pdf_tbs))
    items.append(ToSign("docx", ALGORITHM, request.docx_tbs))
    return items


def _blob(sha: str | None) -> bytes | None:
    return db.session.get(Blob, sha).data if sha else None


def complete_signature(
    request: SignatureRequest,
    signatures: dict[str, bytes],
    *,
    actor: User,
    services: ops.SigningServices,
    trust_roots: list,
    now: datetime | None = None,
) -> Report:
    """Embed the signer's signatures and write the signature as sign_report does.

    Refused (the request ends, its number given back, nothing written): ``AlreadyAnswered``
    for a second answer, ``RequestExpired``, ``SignatureNotAccepted`` when a signature does not
    verify against the registered certificate over the prepared bytes or a file does not
    validate, ``Conflict`` when the report changed meanwhile. The caller commits either way.
    """
    moment = now or utcnow()
    if request.signer_id != actor.id:
        raise NotAllowed("Yêu cầu ký này không phải của bạn.")
    if request.state != RequestState.PENDING:
        raise AlreadyAnswered(ALREADY_ANSWERED)
    if request.expires_at <= moment:
        _end(request, RequestState.EXPIRED)
        flush_or_conflict()
        raise RequestExpired(EXPIRED)
    report = request.report
    if report.version != request.report_version or report.state != ReportState.SUBMITTED:
        _end(request, RequestState.CANCELLED, REPORT_MOVED)
        flush_or_conflict()
        raise Conflict(REPORT_MOVED)
    row = request.certificate
    if not row.usable(moment):
        return _refuse(request, CERT_UNUSABLE)
    cert = certificate_of(row)
    wanted = {item.kind for item in to_sign(request)}
    if set(signatures) != wanted:
        return _refuse(request, "Thiếu chữ ký cho: " + ", ".join(sorted(wanted - set(signatures))))
    prepared = ops._PreparedDocuments(
        number=request.number,
        number_symbol=request.number_symbol,
        final_docx=_blob(request.docx_sha256),
        docx_tbs=request.docx_tbs,
        pdf=(
            interrupted.PreparedPdf(
                _blob(request.prepared_pdf_sha256), request.pdf_state, request.pdf_tbs
            )
            if request.pdf_tbs is not None
            else None
        ),
        verify_code=request.verify_code,
    )
    try:
        documents = ops._finish_signed(
            prepared, signatures, cert=cert, timestamper=ops._timestamper(services)
        )
    except (SignatureRefused, Invalid) as exc:  # Invalid: the TSA unreachable or refusing
        return _refuse(request, str(exc))
    except Exception:  # noqa: BLE001 - a malformed value pyHanko cannot embed
        return _refuse(request, "Không ghép được chữ ký số vào văn bản.")
    if documents.signed_pdf is not None:
        results = signing.validate_pdf(documents.signed_pdf, trust_roots)
        if len(results) != 1 or not results[0].ok:
            message = results[0].message if results else "Bản PDF không có chữ ký."
            return _refuse(request, f"Bản PDF đã ký không hợp lệ: {message}")
    cms_result = signing.verify_cms_detached(documents.final_docx, documents.p7s, trust_roots)
    if not cms_result.ok:
        return _refuse(request, f"Chữ ký .p7s không hợp lệ: {cms_result.message}")
    transition, entries = ops._check_can_sign(
        report, actor, services, request.report_version, registered=True
    )
    if not ops._lock_report(report, request.report_version, transition.source):
        _end(request, RequestState.CANCELLED, REPORT_MOVED)
        flush_or_conflict()
        raise Conflict(REPORT_MOVED)
    ops._write_signature(
        report,
        documents,
        transition,
        actor=actor,
        services=services,
        moment=request.signing_moment,
        note=request.note,
        cert_sha256=row.sha256,
    )
    ops._mark_entries_signed(entries, actor=actor)
    request.state = RequestState.COMPLETED
    request.completed_at = moment
    request.number_released = True  # used: the report carries it now
    flush_or_conflict()
    return report


def _refuse(request: SignatureRequest, reason: str):
    _end(request, RequestState.REFUSED, reason)
    flush_or_conflict()
    raise SignatureNotAccepted(reason)
