"""Địa chỉ gửi văn bản: the e-mail and mã định danh each Nơi nhận of a campaign is sent to.

Quản trị and Văn phòng edit them (the blueprint's other pages are for administrators only);
the rules live in danvan/delivery.py, the route in views.py (``recipients``).
"""

from __future__ import annotations

from danvan import delivery
from danvan.models import Campaign

# The endpoints Văn phòng may open too (see views.admins_only).
OFFICE_ENDPOINTS = frozenset({"campaign_admin.recipients"})
MAX_ROWS = 200


def _version(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def posted_rows(formdata) -> list[delivery.AddressInput]:
    """The posted rows, in order: rows-<i>-name / -email / -organ_id / -version."""
    rows = []
    for i in range(MAX_ROWS):
        name = formdata.get(f"rows-{i}-name")
        if name is None:
            break
        rows.append(
            delivery.AddressInput(
                name=name,
                email=formdata.get(f"rows-{i}-email", ""),
                organ_id=formdata.get(f"rows-{i}-organ_id", ""),
                version=_version(formdata.get(f"rows-{i}-version")),
            )
        )
    return rows


def shown_rows(campaign: Campaign) -> list[dict]:
    """The page's rows from the database: each sendable Nơi nhận with its saved address."""
    return [
        {
            "name": name,
            "email": (r.email or "") if r else "",
            "organ_id": (r.organ_id or "") if r else "",
            "version": r.version if r else "",
        }
        for name, r in delivery.recipient_rows(campaign)
    ]


def echoed_rows(posted: list[delivery.AddressInput]) -> list[dict]:
    """The page's rows as posted (shown again, with the errors, when refused)."""
    return [
        {"name": p.name, "email": p.email, "organ_id": p.organ_id, "version": p.version or ""}
        for p in posted
    ]


def error_summary(rows: list[dict], errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field id, Nơi nhận, message) for the summary above the form."""
    out = []
    for key, message in errors.items():
        index = key.split("-")[1] if key.count("-") >= 2 else ""
        name = rows[int(index)]["name"] if index.isdigit() and int(index) < len(rows) else ""
        out.append((key, name, message))
    return out
