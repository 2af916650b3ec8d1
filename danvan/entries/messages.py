"""What the entry pages say: the error summary, refusals, flash messages that name the entry,
and the warning about characters the official documents cannot print."""

from __future__ import annotations

from danvan.entries.forms import EntryForm
from danvan.models import ENTRY_FIELDS, Entry
from danvan.operations import Invalid
from danvan.text import shorten, unprintable_chars
from danvan.workflow import EntryAction

# Free text the author types; checked for characters the official documents cannot print.
TEXT_FIELDS = (
    "title",
    "place",
    "activity_form",
    "gifts",
    "result",
    "model_name",
    "model_description",
)


def form_refusal(form: EntryForm, error: Invalid, evidence_errors: list[str]) -> tuple:
    """Put an operation's refusal on the form's fields; the message for the summary."""
    for name, message in error.errors.items():
        if name == "files":
            evidence_errors.append(message)
        elif name in form._fields:
            form[name].errors = [*form[name].errors, message]
    if not error.errors:
        evidence_errors.append(error.message)  # e.g. the file limit
    level = "warning" if error.needs_confirmation else "danger"
    return level, error.message, error.needs_confirmation


def error_list(form: EntryForm, evidence_errors: list[str]) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error, for the summary above the form."""
    out = []
    for field in form:
        label = field.label.text if field.type not in ("HiddenField", "CSRFTokenField") else ""
        out += [(field.id, label or "Biểu mẫu", message) for message in field.errors]
    out += [("evidence-files", "Minh chứng", message) for message in evidence_errors]
    return out


def unprintable_in(values: dict[str, str | None]) -> dict[str, list[str]]:
    """For each field holding them, the characters the official documents cannot print."""
    return {name: found for name, value in values.items() if (found := unprintable_chars(value))}


def unprintable_notice(entry: Entry) -> str | None:
    """A warning when saved text holds characters the official documents cannot print."""
    found = unprintable_in({name: getattr(entry, name) for name in TEXT_FIELDS})
    if not found:
        return None
    where = "; ".join(
        f"{' '.join(chars)} ở “{ENTRY_FIELDS[name]}”" for name, chars in found.items()
    )
    return (
        f"Hồ sơ có ký tự không in được trong văn bản hành chính ({where}). Báo cáo sẽ bỏ các "
        "ký tự này; hồ sơ vẫn giữ nguyên những gì bạn đã nhập."
    )


# What a flash message says after each action: the entry is named, "Đã duyệt hồ sơ “…”".
ACTION_DONE = {
    EntryAction.SUBMIT: "Đã gửi duyệt hồ sơ {name}.",
    EntryAction.RESUBMIT: "Đã gửi duyệt lại hồ sơ {name}.",
    EntryAction.WITHDRAW: "Đã rút lại hồ sơ {name}.",
    EntryAction.APPROVE: "Đã duyệt hồ sơ {name}.",
    EntryAction.RETURN: "Đã trả lại hồ sơ {name}.",
    EntryAction.SEND_BACK: "Đã trả hồ sơ {name} về Văn phòng.",
}


def entry_name(entry: Entry) -> str:
    """How flash messages name an entry: “Thăm hỏi hộ nghèo… (QLXD)”."""
    return f"“{shorten(entry.title)} ({entry.unit.abbreviation})”"
