"""Sending an issued document to its Nơi nhận by e-mail: addresses, deliveries, their status.

A campaign's Nơi nhận lines get an e-mail (and a mã định danh for edXML) as
``CampaignRecipient`` rows, matched by the line's exact text. At "Phát hành" Văn thư chooses
which of them receive the document: one ``Delivery`` each, with an ``OutboxMessage`` carrying
the signed PDF (or, for a report signed without LibreOffice, a .zip of the .docx and its
.p7s). The outbox (danvan.mail) sends it after the commit and retries; a delivery's status is
read from its message and, for edXML, from the recipient's status reply.

"Gửi lại" gives a failed delivery a new outbox message: the delivery points to the newest one,
the earlier messages stay in the outbox table with their errors.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from sqlalchemy import select

from danvan import audit
from danvan.blobs import store_blob
from danvan.edxml.codes import DOCUMENT_TYPES, STATUS_CODES
from danvan.extensions import db
from danvan.mail import MAX_ATTEMPTS
from danvan.models import (
    Agency,
    ArchivedDocument,
    Campaign,
    CampaignRecipient,
    Delivery,
    OutboxMessage,
    Report,
    Role,
    User,
)
from danvan.operations import Conflict, Invalid, NotAllowed
from danvan.text import clean_line, clean_text, fold, format_date, format_datetime, utcnow
from danvan.verification import verification_url

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
ORGAN_ID = re.compile(r"^[0-9A-Za-z.]{1,30}$")
EMAIL_LIMIT = 200
ADDRESS_EDITORS = (Role.ADMIN, Role.OFFICE, Role.OFFICE_CHIEF)
NO_ADDRESS = "chưa có địa chỉ e-mail — quản trị/Văn phòng cập nhật ở Địa chỉ gửi văn bản"
ADDRESSES_STALE = (
    "Nơi nhận hoặc địa chỉ gửi vừa được người khác thay đổi; vui lòng tải lại trang và nhập lại."
)
NOT_A_RECIPIENT = "Nơi nhận được chọn không thuộc kế hoạch này hoặc chưa có địa chỉ e-mail."
CLERK_ONLY = "Chỉ Văn thư mới được gửi văn bản đã phát hành."
DOCX_P7S_ZIP = "application/zip"

_EMAILS = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "emails"),
    autoescape=False,  # plain-text mails
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)

# --- Addresses of the Nơi nhận ---------------------------------------------------------------


def line_name(line: str) -> str:
    """A Nơi nhận line as printed, without the leading "- " and the trailing ";"."""
    return (clean_text(line) or "").strip().removeprefix("-").strip().rstrip(";").strip()


def _not_sent(name: str) -> bool:
    """The archive line ("Lưu: VT, VP") and "Như trên" name nobody to send to."""
    folded = fold(name).strip().rstrip(".;")
    return bool(re.match(r"^luu\s*:", folded) or re.match(r"^luu\s+vt\b", folded)) or (
        folded == "nhu tren" or folded.startswith("nhu tren ")
    )


def recipient_names(campaign: Campaign) -> list[str]:
    """The campaign's Nơi nhận a document can be sent to, in order, once each."""
    names: list[str] = []
    for line in campaign.recipient_lines:
        name = line_name(line)
        if name and not _not_sent(name) and name not in names:
            names.append(name)
    return names


def recipient_rows(campaign: Campaign) -> list[tuple[str, CampaignRecipient | None]]:
    """Each sendable Nơi nhận with its saved address (None: none yet); stale rows left out."""
    saved = {
        r.name: r
        for r in db.session.scalars(
            select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
    }
    return [(name, saved.get(name)) for name in recipient_names(campaign)]


def may_edit_addresses(user: User) -> bool:
    """Quản trị and Văn phòng keep the addresses the Nơi nhận are sent to."""
    return user.has_role(*ADDRESS_EDITORS)


@dataclass(frozen=True)
class AddressInput:
    """One posted row of the addresses page."""

    name: str
    email: str | None
    organ_id: str | None
    version: int | None  # the row's version as the page showed it; None: no row then


def _address_values(rows: list[AddressInput]) -> tuple[list[tuple[str, str, str]], dict]:
    """Cleaned (name, email, organ_id) and the errors, keyed "rows-<i>-email" / "-organ_id"."""
    values, errors = [], {}
    for i, row in enumerate(rows):
        email = (clean_line(row.email) or "").strip()
        organ = (clean_line(row.organ_id) or "").strip()
        if email and (len(email) > EMAIL_LIMIT or not EMAIL.match(email)):
            errors[f"rows-{i}-email"] = (
                f"Địa chỉ e-mail của “{row.name}” không hợp lệ (ví dụ vanthu@hanam.gov.vn)."
            )
        if organ and not ORGAN_ID.match(organ):
            errors[f"rows-{i}-organ_id"] = (
                f"Mã định danh của “{row.name}” chỉ gồm chữ, số và dấu chấm, tối đa 30 ký tự "
                "(ví dụ 000.00.31.H23)."
            )
        values.append((row.name, email, organ))
    return values, errors


def save_addresses(campaign: Campaign, rows: list[AddressInput], *, actor: User) -> bool:
    """Save the e-mail and mã định danh of each Nơi nhận; True if anything changed."""
    if not may_edit_addresses(actor):
        raise NotAllowed("Chỉ Quản trị hệ thống và Văn phòng Sở mới được sửa địa chỉ gửi văn bản.")
    values, errors = _address_values(rows)
    if errors:
        first = next(iter(errors.values()))
        raise Invalid(f"Chưa lưu được địa chỉ gửi văn bản: {first}", errors=errors)
    current = dict(recipient_rows(campaign))
    before, after = {}, {}
    for row, (name, email, organ) in zip(rows, values, strict=True):
        if name not in current:
            raise Conflict(ADDRESSES_STALE)  # the line was removed or renamed meanwhile
        saved = current[name]
        if (saved.version if saved else None) != row.version:
            raise Conflict(ADDRESSES_STALE)
        old = (saved.email or "", saved.organ_id or "") if saved else ("", "")
        if old == (email, organ):
            continue
        before[name] = {"email": old[0] or None, "organ_id": old[1] or None}
        after[name] = {"email": email or None, "organ_id": organ or None}
        if saved is None:
            saved = CampaignRecipient(campaign_id=campaign.id, name=name)
            db.session.add(saved)
        saved.email, saved.organ_id = email or None, organ or None
    if not after:
        return False
    from danvan.operations.campaigns import campaign_name

    audit.record(
        actor, "campaign", campaign.id, "update_recipients",
        f"Sửa địa chỉ gửi văn bản ({len(after)} nơi nhận) của kế hoạch {campaign_name(campaign)}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()
    return True


# --- Deliveries ------------------------------------------------------------------------------


def can_deliver(user: User) -> bool:
    """Văn thư sends the issued document (and sends it again)."""
    return user.has_role(Role.CLERK)


def _require_clerk(actor: User) -> None:
    if not can_deliver(actor):
        raise NotAllowed(CLERK_ONLY)


def check_recipients(campaign: Campaign, recipients: Iterable[CampaignRecipient]) -> None:
    """Refuse a recipient that is not a current Nơi nhận of the campaign with an e-mail."""
    names = set(recipient_names(campaign))
    for r in recipients:
        if r.campaign_id != campaign.id or not r.email or r.name not in names:
            raise Invalid(NOT_A_RECIPIENT)


def recipients_by_ids(campaign: Campaign, raw_ids: Iterable[str]) -> list[CampaignRecipient]:
    """The posted recipient ids as this campaign's recipients; Invalid for any other id."""
    ids = []
    for raw in raw_ids:
        raw = (raw or "").strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise Invalid(NOT_A_RECIPIENT)
        ids.append(int(raw))
    if not ids:
        return []
    found = {
        r.id: r
        for r in db.session.scalars(
            select(CampaignRecipient).where(
                CampaignRecipient.id.in_(ids), CampaignRecipient.campaign_id == campaign.id
            )
        )
    }
    if set(ids) - set(found):
        raise Invalid(NOT_A_RECIPIENT)
    chosen = [found[i] for i in dict.fromkeys(ids)]
    check_recipients(campaign, chosen)
    return chosen


def deliveries_of(archived: ArchivedDocument) -> list[Delivery]:
    """The document's deliveries with their outbox messages (one query), oldest first."""
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.archived_document_id == archived.id)
            .order_by(Delivery.id)
        ).unique()
    )


def remaining_recipients(
    archived: ArchivedDocument, rows: list[tuple[str, CampaignRecipient | None]], deliveries
) -> list[CampaignRecipient]:
    """Recipients with an e-mail that the document has not been e-mailed to yet."""
    sent = {d.recipient_name for d in deliveries if d.channel == "email"}
    return [r for name, r in rows if r is not None and r.email and name not in sent]


def _attachment(archived: ArchivedDocument) -> tuple[str, str, str]:
    """(blob, file name, type) the mail carries: the signed PDF, else .docx + .p7s zipped."""
    from danvan.operations.reports import file_stem

    stem = file_stem(archived.year, archived.number_symbol)
    if archived.pdf_sha256:
        return archived.pdf_sha256, f"{stem}.pdf", "application/pdf"
    from danvan.models import Blob

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for sha, name in ((archived.docx_sha256, f"{stem}.docx"), (archived.p7s_sha256, None)):
            info = zipfile.ZipInfo(name or f"{stem}.docx.p7s", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, db.session.get(Blob, sha).data)
    return store_blob(buffer.getvalue()).sha256, f"{stem}.zip", DOCX_P7S_ZIP


def _abstract(archived: ArchivedDocument, type_name: str) -> str:
    """Trích yếu without the tên loại: "Kết quả triển khai …" of "Báo cáo kết quả …"."""
    subject = archived.subject
    if subject.lower().startswith(type_name.lower() + " "):
        subject = subject[len(type_name) + 1 :]
    return subject[:1].upper() + subject[1:]


def _message(
    archived: ArchivedDocument, recipient_name: str, email: str, base_url: str | None
) -> OutboxMessage:
    report = db.session.get(Report, archived.report_id)
    agency = db.session.get(Agency, archived.agency_id)
    type_name = DOCUMENT_TYPES.get(report.doc_type, ("1", "Văn bản"))[1]
    abstract = _abstract(archived, type_name)
    date_text = format_date(archived.doc_date)
    subject = (
        f"[{agency.full_name}] {type_name} số {archived.number_symbol} ngày {date_text}: {abstract}"
    )
    sha, name, kind = _attachment(archived)
    if base_url is None:
        from danvan.notifications import BASE_URL

        base_url = BASE_URL["value"]
    body = _EMAILS.get_template("issued_document.txt").render(
        recipient_name=recipient_name,
        agency_name=agency.full_name,
        type_name=type_name,
        number_symbol=archived.number_symbol,
        doc_date=date_text,
        abstract=abstract,
        signer_name=archived.signer_name,
        signer_title=archived.signer_title,
        attachment_name=name,
        signed_pdf=kind == "application/pdf",
        verify_url=verification_url(base_url, report.verify_code)
        if report.verify_code and base_url
        else None,
    )
    message = OutboxMessage(
        recipient=email,
        subject=subject[:300],
        body=body,
        attachment_sha256=sha,
        attachment_name=name,
        attachment_type=kind,
    )
    db.session.add(message)
    return message


def queue_deliveries(
    archived: ArchivedDocument,
    recipients: Iterable[CampaignRecipient],
    *,
    actor: User,
    now: datetime | None = None,
    base_url: str | None = None,
) -> list[Delivery]:
    """E-mail the issued document to each recipient: a Delivery and an outbox message each.

    Used at "Phát hành" and for "Gửi thêm" afterwards; a recipient already e-mailed is refused.
    ``base_url`` is where the verification page lives (None: the app's configured one).
    """
    recipients = list(recipients)
    if not recipients:
        return []
    _require_clerk(actor)
    report = db.session.get(Report, archived.report_id)
    check_recipients(report.campaign, recipients)
    sent = set()
    if archived.id is not None:
        sent = {d.recipient_name for d in deliveries_of(archived) if d.channel == "email"}
    out = []
    for r in recipients:
        if r.name in sent:
            raise Invalid(f"Văn bản đã được gửi tới “{r.name}”; hãy dùng “Gửi lại” nếu gửi lỗi.")
        sent.add(r.name)
        delivery = Delivery(
            archived_document=archived,
            channel="email",
            recipient_name=r.name,
            email=r.email,
            organ_id=r.organ_id,
            outbox_message=_message(archived, r.name, r.email, base_url),
            created_at=now or utcnow(),
            created_by_id=actor.id,
        )
        db.session.add(delivery)
        out.append(delivery)
    db.session.flush()
    return out


def add_deliveries(
    archived: ArchivedDocument,
    recipients: Iterable[CampaignRecipient],
    *,
    actor: User,
    now: datetime | None = None,
    base_url: str | None = None,
) -> list[Delivery]:
    """ "Gửi thêm": e-mail the issued document to recipients not chosen at issue."""
    recipients = list(recipients)
    if not recipients:
        raise Invalid("Vui lòng chọn ít nhất một nơi nhận để gửi thêm.")
    return queue_deliveries(archived, recipients, actor=actor, now=now, base_url=base_url)


@dataclass(frozen=True)
class DeliveryStatus:
    """What the table shows of a delivery: a code for styling, the label, the detail."""

    code: str  # received | refused | sent | failed | retrying | queued | waiting
    label: str
    detail: str
    at: datetime | None = None

    def __iter__(self):  # (code, label, detail)
        return iter((self.code, self.label, self.detail))


RECEIVED_CODES = ("01", "03", "04", "05", "06")


def delivery_status(delivery: Delivery) -> DeliveryStatus:
    """The delivery's state from its outbox message and the recipient's receipt."""
    code = delivery.status_code
    if delivery.received_at or code in RECEIVED_CODES:
        label = STATUS_CODES.get(code or "", "")
        detail = f"{label}" + (f" · {delivery.status_staff}" if delivery.status_staff else "")
        return DeliveryStatus(
            "received", "Đã nhận", detail, delivery.received_at or delivery.status_at
        )
    if code:
        return DeliveryStatus(
            "refused",
            STATUS_CODES.get(code, f"Mã {code}"),
            delivery.status_description or "",
            delivery.status_at,
        )
    message = delivery.outbox_message
    if message is None:
        return DeliveryStatus("waiting", "Chưa có phản hồi", "", delivery.created_at)
    if message.sent_at:
        return DeliveryStatus(
            "sent",
            "Đã chuyển tới máy chủ thư",
            f"lúc {format_datetime(message.sent_at)}",
            message.sent_at,
        )
    if message.attempts >= MAX_ATTEMPTS:
        return DeliveryStatus("failed", "Gửi thất bại", message.last_error or "", None)
    if message.last_error:
        return DeliveryStatus(
            "retrying", f"Đang thử lại (lần {message.attempts})", message.last_error, None
        )
    return DeliveryStatus("queued", "Đang chờ gửi", "", message.created_at)


def resend(delivery: Delivery, *, actor: User, expected_version: int | None = None) -> Delivery:
    """ "Gửi lại" a failed e-mail: a new outbox message (to the recipient's current address)."""
    _require_clerk(actor)
    if expected_version is not None and delivery.version != expected_version:
        raise Conflict("Việc gửi văn bản vừa được người khác xử lý; vui lòng tải lại trang.")
    if delivery.channel != "email" or delivery_status(delivery).code != "failed":
        raise Invalid("Chỉ gửi lại được thư đã gửi thất bại.")
    archived = delivery.archived_document
    report = db.session.get(Report, archived.report_id)
    saved = dict(recipient_rows(report.campaign)).get(delivery.recipient_name)
    email = saved.email if saved is not None and saved.email else delivery.email
    old = delivery.outbox_message
    message = OutboxMessage(
        recipient=email,
        subject=old.subject,
        body=old.body,
        attachment_sha256=old.attachment_sha256,
        attachment_name=old.attachment_name,
        attachment_type=old.attachment_type,
    )
    db.session.add(message)
    delivery.email = email
    delivery.outbox_message = message
    db.session.flush()
    return delivery
