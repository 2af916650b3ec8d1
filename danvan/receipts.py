"""The sender's side of edXML exchange: a Delivery per package produced, receipts applied.

``record_edxml_delivery`` notes that an issued document was packaged for a recipient (the
archive's edXML button, ``export-edxml``); ``apply_status_reply`` reads the recipient's
QCVN 102 status reply and records it on that Delivery, creating one when the package left
by hand (USB, the axis' own client). Replies are idempotent and never move a delivery back:
an older reply than the one recorded changes nothing. Plain module; flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from danvan.edxml.package import MAX_PACKAGE_BYTES, Organ, PackageError, document_id_for
from danvan.edxml.status import StatusReply, parse_status
from danvan.extensions import db
from danvan.incoming import ARRIVED, REPLY_CODES, ImportRefused, lock_agency
from danvan.models import Agency, ArchivedDocument, Delivery, User
from danvan.text import format_date, utcnow

CHANNEL = "edxml"


def _delivery_for(doc: ArchivedDocument, organ_id: str) -> Delivery | None:
    """The document's delivery to ``organ_id``: the edXML one first, else any other channel."""
    rows = db.session.scalars(
        select(Delivery)
        .where(Delivery.archived_document_id == doc.id, Delivery.organ_id == organ_id)
        .order_by(Delivery.id)
    ).all()
    return next((d for d in rows if d.channel == CHANNEL), rows[0] if rows else None)


def record_edxml_delivery(
    doc: ArchivedDocument, recipient: Organ, *, actor: User | None, now: datetime | None = None
) -> Delivery:
    """The Delivery of ``doc`` as an edXML package to ``recipient`` (one per organ; reused)."""
    agency = db.session.get(Agency, doc.agency_id)
    key = document_id_for(agency.organ_id or "", doc.doc_date, doc.number_symbol)
    lock_agency(agency)
    delivery = _delivery_for(doc, recipient.organ_id)
    if delivery is None or delivery.channel != CHANNEL:
        delivery = Delivery(
            archived_document_id=doc.id,
            channel=CHANNEL,
            organ_id=recipient.organ_id,
            created_at=now or utcnow(),
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(delivery)
    delivery.recipient_name = (recipient.name or recipient.organ_id)[:200]
    delivery.document_key = key
    db.session.flush()
    return delivery


def _archived_for(reply: StatusReply, agency: Agency) -> ArchivedDocument | None:
    """Our archived document the reply answers: by a delivery's key, else by its DocumentId."""
    doc = db.session.scalar(
        select(ArchivedDocument)
        .join(Delivery, Delivery.archived_document_id == ArchivedDocument.id)
        .where(Delivery.document_key == reply.document_id, ArchivedDocument.agency_id == agency.id)
        .limit(1)
    )
    if doc is not None:
        return doc
    candidates = db.session.scalars(
        select(ArchivedDocument).where(
            ArchivedDocument.agency_id == agency.id,
            ArchivedDocument.number_symbol == reply.number_symbol,
            ArchivedDocument.doc_date == reply.promulgation_date,
        )
    )
    for candidate in candidates:
        key = document_id_for(agency.organ_id, candidate.doc_date, candidate.number_symbol)
        if key == reply.document_id:
            return candidate
    return None


def _supersedes(reply: StatusReply, delivery: Delivery) -> bool:
    """Whether the reply is news for the delivery (later, or a later step at the same time)."""
    if delivery.status_at is None:
        return True
    if reply.timestamp != delivery.status_at:
        later = reply.timestamp > delivery.status_at
        # "Đã đến" never replaces a later step, whatever its clock says.
        return later and not (reply.status_code == ARRIVED and delivery.status_code != ARRIVED)
    return reply.status_code > (delivery.status_code or "")


def apply_status_reply(
    data: bytes, *, agency: Agency, actor: User | None, now: datetime
) -> Delivery:
    """Record a recipient's status reply on the Delivery of our document (ImportRefused if not)."""
    try:
        reply = parse_status(data, max_bytes=MAX_PACKAGE_BYTES)
    except PackageError as exc:
        raise ImportRefused(exc.problems) from exc
    if not agency.organ_id:
        raise ImportRefused(
            [
                f"{agency.full_name} chưa có mã định danh (QCVN 102:2016): quản trị viên nhập "
                "mã ở Quản trị → Cơ quan trước khi nhận phản hồi edXML."
            ]
        )
    if reply.sender_organ_id != agency.organ_id:
        raise ImportRefused(
            [
                f"Phản hồi này trả lời văn bản của cơ quan mã {reply.sender_organ_id}, không "
                f"phải của {agency.full_name} (mã {agency.organ_id})."
            ]
        )
    doc = _archived_for(reply, agency)
    if doc is None:
        raise ImportRefused(
            [
                f"Không có văn bản số {reply.number_symbol} ngày "
                f"{format_date(reply.promulgation_date)} (DocumentId {reply.document_id}) trong "
                f"lưu trữ của {agency.full_name}."
            ]
        )
    lock_agency(agency)  # two replies at once for a package left by hand: one new Delivery
    delivery = _delivery_for(doc, reply.responder.organ_id)
    if delivery is None:
        delivery = Delivery(
            archived_document_id=doc.id,
            channel=CHANNEL,
            recipient_name=(reply.responder.name or reply.responder.organ_id)[:200],
            organ_id=reply.responder.organ_id,
            document_key=reply.document_id,
            created_at=now,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(delivery)
    if reply.status_code in REPLY_CODES and (
        delivery.received_at is None or reply.timestamp < delivery.received_at
    ):
        delivery.received_at = reply.timestamp
    if _supersedes(reply, delivery):
        delivery.status_code = reply.status_code
        delivery.status_description = reply.description or reply.status_label
        delivery.status_at = reply.timestamp
        who = ", ".join(x for x in (reply.staff, reply.department) if x)
        delivery.status_staff = who[:200] or None
    db.session.flush()
    return delivery
