"""Operations on activity entries: create, edit, attach evidence, move through the workflow."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from danvan import notifications
from danvan.extensions import db
from danvan.models import ENTRY_FIELDS, Attachment, Blob, Campaign, Entry, Event, Role, User
from danvan.operations import STALE_MESSAGE, Conflict, Invalid, NotAllowed
from danvan.permissions import can_act, can_add_evidence, can_edit_entry
from danvan.text import clean_line, clean_text, format_date, format_number, utcnow
from danvan.uploads import UploadRejected, sniff_upload
from danvan.workflow import (
    EDITABLE_STATES,
    STEP_BY_STATE,
    EntryAction,
    EntryState,
    resolve_target,
    transition_for,
)

LINE_FIELDS = ("title", "place", "activity_form", "model_name", "model_field")
TEXT_FIELDS = ("gifts", "result", "model_description")
MAX_AMOUNT = 10**15
EVIDENCE_REQUIRED_MESSAGE = (
    "Chưa gửi duyệt được: kế hoạch này yêu cầu minh chứng. Vui lòng đính kèm ít nhất một tệp "
    "(ảnh, biên bản, tài liệu…) rồi gửi duyệt lại."
)
EVIDENCE_MISSING = "Kế hoạch này yêu cầu minh chứng: đính kèm ít nhất một tệp trước khi gửi duyệt."


def check_version(obj, expected_version: int | None) -> None:
    """Refuse to act on an object that changed since the user loaded it."""
    if expected_version is not None and obj.version != expected_version:
        raise Conflict(STALE_MESSAGE)


def flush_or_conflict() -> None:
    """Flush; a concurrent update of the same row (version mismatch) becomes a Conflict."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(STALE_MESSAGE) from exc


def display_values(entry: Entry) -> dict[str, str]:
    """The author's fields as the text a person reads (names, dd/mm/yyyy, 1.234.500)."""
    return display_fields(entry.campaign, {name: getattr(entry, name) for name in ENTRY_FIELDS})


def display_fields(campaign: Campaign, fields: dict) -> dict[str, str]:
    """Field values (an entry's or a form's) as the text a person reads."""
    items = {item.id: item.title for item in campaign.content_items}
    observances = {o.id: o.display_name for o in campaign.observances}
    out: dict[str, str] = {}
    for name in ENTRY_FIELDS:
        value = fields.get(name)
        if name == "content_item_id":
            value = items.get(value, "")
        elif name == "observance_id":
            value = observances.get(value, "")
        elif isinstance(value, date):
            value = format_date(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = format_number(value)
        out[name] = "" if value is None else str(value)
    return out


def diff_values(old: dict[str, str], new: dict[str, str]) -> list[dict[str, str]]:
    """Fields whose displayed value differs, with labels, old and new values."""
    return [
        {"field": name, "label": label, "old": old.get(name, ""), "new": new.get(name, "")}
        for name, label in ENTRY_FIELDS.items()
        if old.get(name, "") != new.get(name, "")
    ]


def normalise_fields(fields: dict) -> dict:
    """Form values as they are stored: text cleaned, empty optional lines as None."""
    out = dict(fields)
    for name in LINE_FIELDS:
        if name in out:
            out[name] = clean_line(out[name]) or (
                "" if name in ("place", "activity_form") else None
            )
    for name in TEXT_FIELDS:
        if name in out:
            out[name] = (clean_text(out[name]) or "").strip()
    if out.get("title") is None:
        out["title"] = ""
    return out


def validate_fields(campaign: Campaign, fields: dict, *, confirm_outside: bool) -> None:
    """Check an entry's fields against the campaign; raise Invalid with per-field messages."""
    errors: dict[str, str] = {}
    if not fields.get("title"):
        errors["title"] = "Vui lòng nhập tên hoạt động."
    item_ids = {item.id for item in campaign.content_items}
    if fields.get("content_item_id") not in item_ids:
        errors["content_item_id"] = "Vui lòng chọn nội dung thuộc kế hoạch."
    observance_id = fields.get("observance_id")
    if observance_id and observance_id not in {o.id for o in campaign.observances}:
        errors["observance_id"] = "Ngày kỷ niệm không thuộc kế hoạch."
    start, end = fields.get("date_from"), fields.get("date_to")
    if not start or not end:
        errors["date_from"] = "Vui lòng nhập thời gian từ ngày – đến ngày."
    elif start > end:
        errors["date_to"] = "Ngày kết thúc phải sau hoặc bằng ngày bắt đầu."
    for name in ("participants_officials", "participants_citizens"):
        if (fields.get(name) or 0) < 0:
            errors[name] = "Số người không được âm."
    amount = fields.get("amount_vnd")
    if amount is not None and not 0 <= amount < MAX_AMOUNT:
        errors["amount_vnd"] = "Số tiền không hợp lệ."
    if errors:
        raise Invalid("Vui lòng kiểm tra lại các trường được đánh dấu.", errors=errors)
    outside = not (campaign.contains(start) and campaign.contains(end))
    if outside and not confirm_outside:
        raise Invalid(
            f"Thời gian hoạt động nằm ngoài thời gian kế hoạch "
            f"({format_date(campaign.period_start)} - {format_date(campaign.period_end)}). "
            "Hãy kiểm tra lại, hoặc đánh dấu xác nhận nếu đúng là như vậy.",
            errors={"date_from": "Ngoài thời gian kế hoạch."},
            needs_confirmation=True,
        )
    fields["outside_period_confirmed"] = outside


def entry_for_form_token(token: str | None, actor: User) -> Entry | None:
    """The entry this actor already created from the same form (a repeated POST)."""
    if not token:
        return None
    return db.session.scalar(
        select(Entry).where(Entry.form_token == token, Entry.author_id == actor.id)
    )


def create_entry(
    campaign: Campaign,
    *,
    actor: User,
    fields: dict,
    confirm_outside: bool = False,
    form_token: str | None = None,
) -> Entry:
    """Create a draft entry for the actor's unit."""
    if actor.unit_id is None or not actor.has_role(Role.STAFF, Role.UNIT_HEAD):
        raise NotAllowed("Chỉ cán bộ thuộc một đơn vị mới được lập hồ sơ hoạt động.")
    fields = normalise_fields(fields)
    validate_fields(campaign, fields, confirm_outside=confirm_outside)
    entry = Entry(
        campaign=campaign,
        unit_id=actor.unit_id,
        author=actor,
        state=EntryState.DRAFT,
        form_token=form_token or None,
    )
    for name in (*ENTRY_FIELDS, "outside_period_confirmed"):
        if name in fields:
            setattr(entry, name, fields[name])
    db.session.add(entry)
    db.session.flush()
    db.session.refresh(entry)
    entry.refresh_search_text()
    db.session.add(Event(entry_id=entry.id, actor=actor, action="create", to_state=entry.state))
    db.session.flush()
    return entry


def update_entry(
    entry: Entry,
    *,
    actor: User,
    fields: dict,
    expected_version: int | None,
    confirm_outside: bool = False,
) -> Entry:
    """Change an entry's fields (author only, while editable); log the diff once submitted."""
    check_version(entry, expected_version)
    decision = can_edit_entry(actor, entry)
    if not decision:
        raise NotAllowed(decision.reason)
    fields = normalise_fields(fields)
    validate_fields(entry.campaign, fields, confirm_outside=confirm_outside)
    before = display_values(entry)
    for name in (*ENTRY_FIELDS, "outside_period_confirmed"):
        if name in fields:
            setattr(entry, name, fields[name])
    flush_or_conflict()
    db.session.refresh(entry)
    changes = diff_values(before, display_values(entry))
    entry.refresh_search_text()
    entry.updated_at = utcnow()
    # While returned, the resubmission records the diff since the return: no twin here.
    if changes and entry.state not in (EntryState.DRAFT, EntryState.RETURNED):
        _log_in_place(entry, actor, "edit", changes=changes)
    flush_or_conflict()
    return entry


def _log_in_place(entry: Entry, actor: User, action: str, *, comment=None, changes=None) -> None:
    """History row for a change that leaves the entry's state as it is (edit, files)."""
    db.session.add(
        Event(
            entry_id=entry.id,
            actor=actor,
            action=action,
            from_state=entry.state,
            to_state=entry.state,
            comment=comment,
            changes=changes,
        )
    )


def _last_return_snapshot(entry: Entry) -> dict | None:
    stmt = (
        select(Event.snapshot)
        .where(Event.entry_id == entry.id, Event.action == EntryAction.RETURN)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def act(
    entry: Entry,
    action: EntryAction,
    *,
    actor: User,
    comment: str | None = None,
    expected_version: int | None = None,
) -> Event:
    """Take a workflow action on an entry: check table, party, guard and version; log it."""
    check_version(entry, expected_version)
    decision = can_act(actor, entry, action)
    if not decision:
        raise NotAllowed(decision.reason)
    transition = transition_for(action, entry.state_enum)
    comment = (clean_text(comment) or "").strip() or None
    if transition.comment_required and not comment:
        raise Invalid("Vui lòng nhập ý kiến khi trả lại.", errors={"comment": "Bắt buộc."})
    campaign = entry.campaign
    sending = action in (EntryAction.SUBMIT, EntryAction.RESUBMIT)
    if sending and campaign.evidence_required and not count_attachments(entry):
        raise Invalid(EVIDENCE_REQUIRED_MESSAGE, errors={"files": EVIDENCE_MISSING})
    source = entry.state_enum
    target = resolve_target(
        transition,
        state=source,
        chain=campaign.chain,
        author_is_head=entry.author.has_role(Role.UNIT_HEAD)
        and entry.author.unit_id == entry.unit_id,
        returned_step=entry.returned_step,
        resume_at_returning_step=campaign.resume_policy == "returning_step",
    )
    event = Event(
        entry_id=entry.id,
        actor=actor,
        acting_for=decision.acting_for,
        action=action,
        from_state=source,
        to_state=target,
        comment=comment,
    )
    if action == EntryAction.RETURN:
        entry.returned_step = STEP_BY_STATE[source].name
        event.snapshot = display_values(entry)
    if action == EntryAction.RESUBMIT:
        snapshot = _last_return_snapshot(entry)
        if snapshot:
            event.changes = diff_values(snapshot, display_values(entry)) or None
    if action in (EntryAction.SUBMIT, EntryAction.RESUBMIT, EntryAction.SEND_BACK):
        entry.approvals_since_submit = 0
    elif action == EntryAction.APPROVE:
        entry.approvals_since_submit += 1
        entry.approvals = record_approval(entry.approvals, source, actor, decision.acting_for)
    if action == EntryAction.SEND_BACK:
        entry.report_id = None
    entry.last_comment = comment if comment else entry.last_comment
    if action in (EntryAction.SUBMIT, EntryAction.RESUBMIT):
        entry.last_comment = None
    entry.state = target
    entry.updated_at = utcnow()
    db.session.add(event)
    flush_or_conflict()
    notifications.queue_entry_event(entry, event)
    return event


def record_approval(approvals: dict | None, step: EntryState, actor: User, acting_for) -> dict:
    """A new approvals map with the actor (and whom they acted for) added at ``step``."""
    out = {state: list(ids) for state, ids in (approvals or {}).items()}
    ids = out.setdefault(str(step), [])
    for user in (actor, acting_for):
        if user is not None and user.id not in ids:
            ids.append(user.id)
    return out


def mark_signed(entry: Entry, *, actor: User) -> Event:
    """System transition: the report containing the entry was signed by ``actor``."""
    transition = transition_for(EntryAction.SIGN, entry.state_enum)
    if transition is None:
        raise NotAllowed(f"Hồ sơ “{entry.title}” chưa ở trạng thái “Đã duyệt”.")
    event = Event(
        entry_id=entry.id,
        actor=actor,
        action=EntryAction.SIGN,
        from_state=entry.state,
        to_state=transition.target,
    )
    entry.state = transition.target
    entry.updated_at = utcnow()
    db.session.add(event)
    notifications.queue_entry_event(entry, event)
    return event


def act_many(
    items: Iterable[tuple[Entry, int | None]],
    action: EntryAction,
    *,
    actor: User,
    comment: str | None = None,
) -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """Apply one action to several entries through the same rules; collect refusals."""
    done: list[Entry] = []
    failed: list[tuple[Entry, str]] = []
    for entry, version in items:
        savepoint = db.session.begin_nested()
        try:
            act(entry, action, actor=actor, comment=comment, expected_version=version)
        except (NotAllowed, Conflict, Invalid) as exc:
            savepoint.rollback()
            failed.append((entry, exc.message))
        else:
            savepoint.commit()
            done.append(entry)
    return done, failed


def store_blob(data: bytes) -> Blob:
    """Store bytes once, addressed by their SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    blob = db.session.get(Blob, sha)
    if blob is None and db.session.get_bind().dialect.name == "postgresql":
        # The same file stored at the same moment by two requests: one insert wins, both use it.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.session.execute(
            pg_insert(Blob)
            .values(sha256=sha, size=len(data), data=data, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["sha256"])
        )
        blob = db.session.get(Blob, sha)
    elif blob is None:
        blob = Blob(sha256=sha, size=len(data), data=data)
        db.session.add(blob)
        db.session.flush()
    return blob


@dataclass(frozen=True)
class StoredFile:
    """An evidence file checked and stored, not yet attached to an entry."""

    sha256: str
    filename: str
    content_type: str
    size: int


def store_upload(*, filename: str, data: bytes, max_bytes: int) -> StoredFile:
    """Check an uploaded file's size and real type, then store its bytes (content-addressed)."""
    if len(data) > max_bytes:
        raise Invalid(
            f"Tệp “{clean_line(filename)}” vượt quá dung lượng cho phép "
            f"({format_number(max_bytes / 1024 / 1024)} MB)."
        )
    try:
        kind = sniff_upload(filename, data)
    except UploadRejected as exc:
        raise Invalid(exc.message) from exc
    blob = store_blob(data)
    return StoredFile(blob.sha256, kind.safe_name, kind.content_type, len(data))


def count_attachments(entry: Entry) -> int:
    """How many evidence files the entry has now (in the database, this transaction)."""
    stmt = select(func.count(Attachment.id)).where(Attachment.entry_id == entry.id)
    return db.session.scalar(stmt)


def _lock_entry(entry: Entry) -> None:
    """The entry's row lock (PostgreSQL) or the write lock (SQLite); its version is untouched."""
    table = Entry.__table__
    db.session.execute(update(table).where(table.c.id == entry.id).values(version=table.c.version))


def attach_file(entry: Entry, *, actor: User, stored: StoredFile, max_files: int) -> Attachment:
    """Attach a stored file (author; while editable or waiting at the unit step); log it.

    The entry's row is locked before its files are counted, so parallel uploads cannot pass
    the limit together. Added while the entry waits for its unit head, the history row is
    "Bổ sung minh chứng".
    """
    _lock_entry(entry)
    db.session.refresh(entry)  # as the last upload that held the lock left it
    decision = can_add_evidence(actor, entry)
    if not decision:
        raise NotAllowed(decision.reason)
    if count_attachments(entry) >= max_files:
        raise Invalid(f"Mỗi hồ sơ chỉ được đính kèm tối đa {max_files} tệp.")
    attachment = Attachment(
        entry=entry,
        blob_sha256=stored.sha256,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    action = "attach" if entry.state_enum in EDITABLE_STATES else "supplement"
    _log_in_place(entry, actor, action, comment=stored.filename)
    db.session.flush()
    return attachment


def add_attachment(
    entry: Entry, *, actor: User, filename: str, data: bytes, max_bytes: int, max_files: int
) -> Attachment:
    """Check, store and attach one uploaded evidence file (see ``attach_file``)."""
    decision = can_add_evidence(actor, entry)
    if not decision:
        raise NotAllowed(decision.reason)
    stored = store_upload(filename=filename, data=data, max_bytes=max_bytes)
    return attach_file(entry, actor=actor, stored=stored, max_files=max_files)


def remove_attachment(attachment: Attachment, *, actor: User) -> None:
    """Remove an evidence file from an editable entry and log it (blobs are never deleted)."""
    entry = attachment.entry
    decision = can_edit_entry(actor, entry)
    if not decision:
        raise NotAllowed(decision.reason)
    _log_in_place(entry, actor, "detach", comment=attachment.filename)
    db.session.delete(attachment)
    db.session.flush()
