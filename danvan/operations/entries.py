"""Operations on activity entries: create, edit, attach evidence, move through the workflow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from danvan import notifications
from danvan.blobs import StoredFile, store_upload
from danvan.extensions import db
from danvan.models import (
    ENTRY_FIELDS,
    Attachment,
    Campaign,
    Entry,
    EntryApproval,
    Event,
    Role,
    User,
)
from danvan.operations import STALE_MESSAGE, Conflict, Invalid, NotAllowed
from danvan.permissions import can_act, can_add_evidence, can_edit_entry
from danvan.text import clean_line, clean_text, format_date, format_number, utcnow
from danvan.workflow import (
    EDITABLE_STATES,
    Effect,
    EntryAction,
    EntryState,
    Identity,
    Party,
    resolve_target,
    transition_for,
    transitions_from,
)

LINE_FIELDS = ("title", "place", "activity_form", "model_name", "model_field")
TEXT_FIELDS = ("gifts", "result", "model_description")
MAX_AMOUNT = 10**15
EVIDENCE_REQUIRED_MESSAGE = (
    "Chưa gửi duyệt được: kế hoạch này yêu cầu minh chứng. Vui lòng đính kèm ít nhất một tệp "
    "(ảnh, biên bản, tài liệu…) rồi gửi duyệt lại."
)
CAMPAIGN_NOT_OPEN = "Kế hoạch chưa mở hoặc đã kết thúc nên không nhận hồ sơ mới."
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


def validate_fields(
    campaign: Campaign, fields: dict, *, confirm_outside: bool, entry: Entry | None = None
) -> None:
    """Check an entry's fields against the campaign; raise Invalid with per-field messages.

    Archived content items and observances are refused, except the ones ``entry`` already
    refers to (an entry is never forced off what it was written against)."""
    errors: dict[str, str] = {}
    if not fields.get("title"):
        errors["title"] = "Vui lòng nhập tên hoạt động."
    keep_item = entry.content_item_id if entry is not None else None
    keep_observance = entry.observance_id if entry is not None else None
    item_ids = {i.id for i in campaign.content_items if not i.archived or i.id == keep_item}
    if fields.get("content_item_id") not in item_ids:
        errors["content_item_id"] = "Vui lòng chọn nội dung thuộc kế hoạch."
    observance_id = fields.get("observance_id")
    observance_ids = {
        o.id for o in campaign.observances if not o.archived or o.id == keep_observance
    }
    if observance_id and observance_id not in observance_ids:
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
    if campaign.status != "active":
        raise NotAllowed(CAMPAIGN_NOT_OPEN)
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
    validate_fields(entry.campaign, fields, confirm_outside=confirm_outside, entry=entry)
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


def save_new_entry(
    campaign: Campaign,
    *,
    actor: User,
    fields: dict,
    files: Iterable[StoredFile],
    submit: bool,
    confirm_outside: bool = False,
    form_token: str | None = None,
    max_files: int,
) -> Entry:
    """Create a draft with its evidence files and, if asked, send it for approval: one unit."""
    entry = create_entry(
        campaign,
        actor=actor,
        fields=fields,
        confirm_outside=confirm_outside,
        form_token=form_token,
    )
    _attach_all(entry, actor, files, max_files)
    if submit:
        send_entry(entry, actor=actor)
    return entry


def save_entry(
    entry: Entry,
    *,
    actor: User,
    fields: dict,
    files: Iterable[StoredFile],
    remove_ids: Iterable[int],
    submit: bool,
    expected_version: int | None,
    confirm_outside: bool = False,
    max_files: int,
) -> Entry:
    """Save the author's edit (fields, files removed and added) and, if asked, send it on."""
    update_entry(
        entry,
        actor=actor,
        fields=fields,
        expected_version=expected_version,
        confirm_outside=confirm_outside,
    )
    removed = set(remove_ids)
    for attachment in [a for a in entry.attachments if a.id in removed]:
        remove_attachment(attachment, actor=actor)
    _attach_all(entry, actor, files, max_files)
    if submit:
        send_entry(entry, actor=actor)
    return entry


SENDING_ACTIONS = (EntryAction.SUBMIT, EntryAction.RESUBMIT)


def sending_action(entry: Entry) -> EntryAction | None:
    """The author's transition that sends the entry for approval from its state, per the
    table: "Gửi duyệt" from a draft or a withdrawn entry, "Gửi duyệt lại" once returned."""
    for transition in transitions_from(entry.state_enum):
        if transition.party == Party.AUTHOR and transition.action in SENDING_ACTIONS:
            return transition.action
    return None


def send_entry(entry: Entry, *, actor: User) -> Event:
    """Send the entry for approval by the author's sending transition from its state."""
    # Where there is none, "Gửi duyệt" is refused by ``act`` with the table's own message.
    return act(entry, sending_action(entry) or EntryAction.SUBMIT, actor=actor)


def _attach_all(entry: Entry, actor: User, files: Iterable[StoredFile], max_files: int) -> None:
    for stored in files:
        attach_file(entry, actor=actor, stored=stored, max_files=max_files)


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


def _author_identity(entry: Entry) -> Identity:
    author = entry.author
    return Identity(author.id, frozenset(r.value for r in author.roles), author.unit_id)


def _enter(entry: Entry, state: EntryState, step: int | None) -> None:
    """Move the entry, repeating its current step's kind and named user for the inbox SQL."""
    entry.state = state
    entry.step = step
    current = entry.steps[step] if step is not None else None
    entry.step_kind = current.kind.value if current is not None else None
    entry.step_user_id = current.user_id if current is not None else None


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
    effects = transition.effects
    if Effect.TAKE_CHAIN in effects:
        if campaign.status != "active":
            raise NotAllowed(CAMPAIGN_NOT_OPEN)
        entry.chain = [dict(item) for item in (campaign.chain or [])] or None
    sending = action in (EntryAction.SUBMIT, EntryAction.RESUBMIT)
    if sending and campaign.evidence_required and not count_attachments(entry):
        raise Invalid(EVIDENCE_REQUIRED_MESSAGE, errors={"files": EVIDENCE_MISSING})
    source, source_step = entry.state_enum, entry.step
    target, target_step = resolve_target(
        transition,
        steps=entry.steps,
        step=source_step,
        author=_author_identity(entry),
        unit_id=entry.unit_id,
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
        from_step=source_step,
        to_step=target_step,
        comment=comment,
    )
    if Effect.MARK_RETURNED in effects:
        entry.returned_step = source_step
    if Effect.SNAPSHOT in effects:
        event.snapshot = display_values(entry)
    if action == EntryAction.RESUBMIT:
        snapshot = _last_return_snapshot(entry)
        if snapshot:
            event.changes = diff_values(snapshot, display_values(entry)) or None
    if Effect.START_ROUND in effects:
        entry.approvals_since_submit = 0
    if Effect.COUNT_APPROVAL in effects:
        entry.approvals_since_submit += 1
        for user in (actor, decision.acting_for):
            if user is not None and user.id not in entry.approvals.get(source_step, ()):
                entry.approval_rows.append(EntryApproval(step=source_step, user_id=user.id))
    if Effect.LEAVE_REPORT in effects:
        from danvan.operations import reports as report_ops  # reports imports this module

        left = entry.report
        entry.report_id = None
        if left is not None:  # its history says so and its draft no longer lists the entry
            report_ops.refresh_after_send_back(left, actor=actor, entry=entry, comment=comment)
    if comment:
        entry.last_comment = comment
    if sending:
        entry.last_comment = None
    _enter(entry, target, target_step)
    entry.updated_at = utcnow()
    db.session.add(event)
    flush_or_conflict()
    notifications.queue_entry_event(entry, event)
    return event


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


def attach_files(
    entry: Entry, *, actor: User, files: Iterable[StoredFile], max_files: int
) -> tuple[list[Attachment], list[str]]:
    """Attach each stored file that still fits (see ``attach_file``); why the others did not."""
    attached: list[Attachment] = []
    refused: list[str] = []
    for stored in files:
        try:  # the file limit is checked before anything is written: nothing to undo
            attached.append(attach_file(entry, actor=actor, stored=stored, max_files=max_files))
        except Invalid as error:
            refused.append(error.message)
    return attached, refused


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
