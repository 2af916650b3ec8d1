"""One entry edited in two tabs: show what changed since the form was loaded, lose nothing typed.

The edit form carries a fingerprint of the values it was rendered with (``original``). When the
saved entry's version moved on, the fields are compared three ways: a field only the other save
changed takes the saved value (so saving again does not undo it), a field both changed keeps
what the user typed and is listed with the saved value next to it, and a field only the user
changed is simply their pending edit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from danvan.entries.forms import EntryForm
from danvan.extensions import db
from danvan.models import ENTRY_FIELDS, Entry, Event, User
from danvan.operations import entries as ops
from danvan.permissions import can_edit_entry
from danvan.text import format_date, to_vn, today_vn
from danvan.web import ACTION_LABELS

# A history row written with the entry's last update comes just after it (same flush); a
# draft's field edits write none, so an older row is not what changed the entry.
SAME_CHANGE = timedelta(milliseconds=1)


def comparable(fields: dict) -> dict[str, str]:
    """Field values as strings that compare equal when the stored values would."""
    out = {}
    for name in ENTRY_FIELDS:
        value = fields.get(name)
        if isinstance(value, date):
            value = value.isoformat()
        out[name] = "" if value is None else str(value)
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(fields: dict) -> str:
    """The short hashes of the values a form is rendered with (for its ``original`` field)."""
    return json.dumps({k: _digest(v) for k, v in comparable(fields).items()}, sort_keys=True)


def entry_fingerprint(entry: Entry) -> str:
    """``fingerprint`` of an entry's saved values."""
    return fingerprint({name: getattr(entry, name) for name in ENTRY_FIELDS})


def _parse(raw: str | None) -> dict | None:
    try:
        value = json.loads(raw or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class FieldConflict:
    """One field whose saved value differs from the form's."""

    name: str
    label: str
    saved: str  # as a person reads it
    mine: str
    kept_mine: bool  # True: the form keeps what the user typed; False: it took the saved value


@dataclass
class EntryConflict:
    """What the edit form shows when the entry changed since it was loaded."""

    message: str
    fields: list[FieldConflict] = field(default_factory=list)
    editable: bool = True
    advice: str = ""


def _when(entry: Entry) -> str:
    at = to_vn(entry.updated_at)
    text = at.strftime("%H:%M")
    return text if at.date() == today_vn() else f"{text} ngày {format_date(at)}"


def last_change(entry: Entry) -> tuple[User | None, Event | None]:
    """Who made the entry's last update and, when it was a workflow step, its history row."""
    event = db.session.scalar(
        select(Event).where(Event.entry_id == entry.id).order_by(Event.id.desc()).limit(1)
    )
    if event is not None and event.created_at >= entry.updated_at - SAME_CHANGE:
        return event.actor, event
    return entry.author, None  # field edits of drafts leave no row; only the author edits


def _set_field(form_field, value) -> None:
    form_field.raw_data = []
    if form_field.name == "observance_id":
        value = value or 0
    elif form_field.name == "model_field":
        value = value or ""
    form_field.data = value


def resolve_conflict(entry: Entry, form: EntryForm, user: User) -> EntryConflict:
    """Compare the saved entry with the submitted form, merge what only the other save changed
    into the form, and describe the rest; the form then carries the saved version."""
    saved_raw = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    mine_raw = ops.normalise_fields(form.entry_fields())
    saved, mine = comparable(saved_raw), comparable(mine_raw)
    saved_text = ops.display_fields(entry.campaign, saved_raw)
    mine_text = ops.display_fields(entry.campaign, mine_raw)
    original = _parse(form.original.data)
    fields = []
    for name, label in ENTRY_FIELDS.items():
        if saved[name] == mine[name]:
            continue
        kept_mine = True
        if original is not None:
            if _digest(saved[name]) == original.get(name):
                continue  # only the user changed it: their pending edit
            if _digest(mine[name]) == original.get(name):
                kept_mine = False  # only the other save changed it: take it over
                _set_field(form[name], saved_raw[name])
        fields.append(FieldConflict(name, label, saved_text[name], mine_text[name], kept_mine))
    form.version.data = str(entry.version)
    form.original.data = fingerprint(saved_raw)

    actor, event = last_change(entry)
    who = "bạn" if actor is not None and actor.id == user.id else (actor.full_name if actor else "")
    message = f"Hồ sơ đã được cập nhật lúc {_when(entry)} bởi {who}"
    if event is not None and event.from_state != event.to_state:
        message += f" ({ACTION_LABELS.get(event.action, event.action)})"
    if fields:
        message += ", so với bản bạn đang sửa: " + ", ".join(f.label for f in fields) + "."
    else:
        message += "; các trường bạn đang sửa không khác bản đã lưu."
    decision = can_edit_entry(user, entry)
    if not decision:
        advice = (
            f"{decision.reason} Những gì bạn nhập vẫn hiện trong biểu mẫu để bạn chép lại; muốn "
            "sửa tiếp, hãy mở hồ sơ và “Rút lại” (nếu chưa được duyệt)."
        )
    else:
        advice = "Những gì bạn đã nhập vẫn được giữ trong biểu mẫu"
        if any(not f.kept_mine for f in fields):
            advice += "; trường chỉ thay đổi ở bản đã lưu đã được cập nhật theo bản đó"
        advice += ". Hãy kiểm tra rồi bấm lưu lần nữa."
    return EntryConflict(message, fields, editable=bool(decision), advice=advice)
