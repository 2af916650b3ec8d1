"""Công khai: the activities Văn phòng publishes on a campaign's public page and Atom feed.

An entry is public while it is published (``published_at``), approved or signed, and has not
left those states since it was published: an entry sent back or returned after publication
leaves the page for good, and Văn phòng publishes it again once it is approved again (so the
page never shows a version nobody chose to publish). Only plain data leaves this module for the
public page (``PublicActivity``): no author, comment, history, evidence or amounts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from lxml import etree
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from danvan import audit, permissions
from danvan.extensions import db
from danvan.models import Agency, Campaign, ContentItem, Entry, Event, Unit, User
from danvan.operations import STALE_MESSAGE, Conflict, NotAllowed
from danvan.operations.entries import flush_or_conflict
from danvan.text import VN_TZ, format_date, format_number, utcnow
from danvan.workflow import ENTRY_STATE_LABELS, EntryState, Party

PUBLIC_STATES = (EntryState.APPROVED, EntryState.SIGNED)
PUBLIC_CAMPAIGN_STATUSES = ("active", "closed")

NOT_OFFICE_MESSAGE = "Chỉ Văn phòng Sở mới được công khai hoặc thôi công khai hoạt động."
ALREADY_PUBLIC = "Hoạt động này đã được công khai trên trang thông tin."
NOT_PUBLIC = "Hoạt động này hiện không được công khai trên trang thông tin."

ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry (everything below U+0020 but tab, LF and CR; U+FFFE, U+FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- Who may publish ---------------------------------------------------------------------


def plays_office(user: User | None, entry: Entry) -> bool:
    """Whether the user plays Văn phòng Sở for this entry (an administrator does not)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Party.OFFICE in permissions.parties(user, entry)


def lapsed(entry: Entry) -> bool:
    """Whether a published entry has left approved/signed since it was published."""
    if entry.published_at is None:
        return False
    return bool(
        db.session.scalar(select(_left_public_since_published(Entry)).where(Entry.id == entry.id))
    )


def is_public(entry: Entry) -> bool:
    """Whether the entry shows on the public page now."""
    return (
        entry.published_at is not None
        and entry.state_enum in PUBLIC_STATES
        and entry.campaign.status in PUBLIC_CAMPAIGN_STATUSES
        and not lapsed(entry)
    )


def can_publish(user: User, entry: Entry, public: bool = True) -> permissions.Decision:
    """Whether the user may set (``public``) or clear the entry's "công khai" flag now."""
    if not plays_office(user, entry):
        return permissions.Decision(False, NOT_OFFICE_MESSAGE)
    if public and entry.state_enum not in PUBLIC_STATES:
        label = ENTRY_STATE_LABELS.get(entry.state_enum, entry.state)
        return permissions.Decision(
            False,
            "Chỉ công khai được hoạt động đã duyệt hoặc đã ký; hồ sơ này đang ở trạng thái "
            f"“{label}”.",
        )
    return permissions.Decision(True)


def publish(entry: Entry, *, actor: User, public: bool, expected_version: int | None) -> bool:
    """Set or clear the entry's "công khai" flag (Văn phòng); flushes, logs, returns True."""
    decision = can_publish(actor, entry, public)
    if not decision:
        raise NotAllowed(decision.reason)
    if expected_version is not None and entry.version != expected_version:
        raise Conflict(STALE_MESSAGE)
    if public and is_public(entry):
        raise Conflict(ALREADY_PUBLIC)
    if not public and entry.published_at is None:
        raise Conflict(NOT_PUBLIC)
    before = {"published_at": entry.published_at, "published_by_id": entry.published_by_id}
    if public:
        entry.published_at, entry.published_by_id = utcnow(), actor.id
        action, verb = "publish", "Công khai"
    else:
        entry.published_at, entry.published_by_id = None, None
        action, verb = "unpublish", "Thôi công khai"
    after = {"published_at": entry.published_at, "published_by_id": entry.published_by_id}
    audit.record(
        actor,
        "entry",
        entry.id,
        action,
        f"{verb} hoạt động #{entry.id} “{entry.title}” ({entry.unit.name}) trên trang "
        f"thông tin của kế hoạch {entry.campaign.year}",
        before=before,
        after=after,
    )
    flush_or_conflict()
    return True


# --- What the public sees ----------------------------------------------------------------


@dataclass(frozen=True)
class PublicActivity:
    """One published activity, as the public page and the feed show it."""

    id: int
    content_item_id: int
    title: str
    unit_name: str
    date_from: date
    date_to: date
    place: str
    activity_form: str
    participants_officials: int
    participants_citizens: int
    result: str
    model_name: str | None
    published_at: datetime

    @property
    def participants_total(self) -> int:
        return self.participants_officials + self.participants_citizens

    @property
    def dates_text(self) -> str:
        if self.date_from == self.date_to:
            return format_date(self.date_from)
        return f"{format_date(self.date_from)} - {format_date(self.date_to)}"


@dataclass(frozen=True)
class PublicGroup:
    """A content item of the plan and its published activities."""

    position: int
    title: str
    activities: list[PublicActivity]


def _left_public_since_published(entry_table):
    """SQL: the entry left approved/signed after it was published."""
    event = aliased(Event)
    states = [s.value for s in PUBLIC_STATES]
    return exists().where(
        event.entry_id == entry_table.id,
        event.created_at > entry_table.published_at,
        event.from_state.in_(states),
        event.to_state.is_not(None),
        event.to_state.not_in(states),
    )


def public_campaigns() -> list[Campaign]:
    """The campaigns the public may see (not drafts), newest first."""
    stmt = (
        select(Campaign)
        .where(Campaign.status.in_(PUBLIC_CAMPAIGN_STATUSES))
        .order_by(Campaign.year.desc(), Campaign.id.desc())
    )
    return list(db.session.scalars(stmt))


def public_campaign(campaign_id: int) -> Campaign | None:
    """The campaign if the public may see it (None for a draft or an unknown id)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status not in PUBLIC_CAMPAIGN_STATUSES:
        return None
    return campaign


def published_activities(campaign: Campaign) -> list[PublicActivity]:
    """The campaign's public activities, newest publication first (one query)."""
    stmt = (
        select(
            Entry.id,
            Entry.content_item_id,
            Entry.title,
            Unit.name,
            Entry.date_from,
            Entry.date_to,
            Entry.place,
            Entry.activity_form,
            Entry.participants_officials,
            Entry.participants_citizens,
            Entry.result,
            Entry.model_name,
            Entry.published_at,
        )
        .join(Unit, Unit.id == Entry.unit_id)
        .where(
            Entry.campaign_id == campaign.id,
            Entry.published_at.is_not(None),
            Entry.state.in_([s.value for s in PUBLIC_STATES]),
            ~_left_public_since_published(Entry),
        )
        .order_by(Entry.published_at.desc(), Entry.id.desc())
    )
    return [
        PublicActivity(
            id=row[0],
            content_item_id=row[1],
            title=row[2],
            unit_name=row[3],
            date_from=row[4],
            date_to=row[5],
            place=row[6] or "",
            activity_form=row[7] or "",
            participants_officials=row[8] or 0,
            participants_citizens=row[9] or 0,
            result=row[10] or "",
            model_name=row[11],
            published_at=row[12],
        )
        for row in db.session.execute(stmt)
    ]


def grouped(campaign: Campaign, activities: list[PublicActivity]) -> list[PublicGroup]:
    """Activities under the plan's content items (in the plan's order, by date inside)."""
    by_item: dict[int, list[PublicActivity]] = {}
    for activity in activities:
        by_item.setdefault(activity.content_item_id, []).append(activity)
    items: list[ContentItem] = sorted(campaign.content_items, key=lambda i: (i.position, i.id))
    return [
        PublicGroup(
            item.position,
            item.title,
            sorted(by_item[item.id], key=lambda a: (a.date_from, a.date_to, a.id)),
        )
        for item in items
        if item.id in by_item
    ]


# --- Atom 1.0 ------------------------------------------------------------------------------


def xml_text(value: str | None) -> str:
    """Text safe for XML 1.0: NFC, without the control characters XML cannot carry."""
    return _XML_ILLEGAL.sub("", unicodedata.normalize("NFC", value or ""))


def rfc3339(value: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC (2023-10-12T02:30:00Z)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_uri(authority: str, year: int, specific: str) -> str:
    """A tag: URI (RFC 4151), stable across republication and changes of address."""
    return f"tag:{authority},{year}:{specific}"


def activity_text(activity: PublicActivity) -> str:
    """The activity as plain text for the feed's content."""
    lines = [
        f"Đơn vị: {activity.unit_name}",
        f"Thời gian: {activity.dates_text}",
    ]
    if activity.place:
        lines.append(f"Địa điểm: {activity.place}")
    if activity.activity_form:
        lines.append(f"Hình thức: {activity.activity_form}")
    lines.append(
        f"Người tham gia: {format_number(activity.participants_total)} "
        f"({format_number(activity.participants_officials)} cán bộ, đảng viên; "
        f"{format_number(activity.participants_citizens)} người dân)"
    )
    if activity.result:
        lines.append(f"Kết quả: {activity.result}")
    if activity.model_name:
        lines.append(f"Mô hình “Dân vận khéo”: {activity.model_name}")
    return "\n".join(lines)


def campaign_timestamp(campaign: Campaign) -> datetime:
    """When nothing is published yet, the feed's "updated": the plan's date (00:00 Hà Nội)."""
    day = campaign.plan_date or campaign.period_start
    return datetime.combine(day, time(), VN_TZ).astimezone(UTC)


def atom_feed(
    campaign: Campaign,
    agency: Agency,
    activities: list[PublicActivity],
    *,
    page_url: str,
    self_url: str,
    authority: str,
) -> bytes:
    """The campaign's public activities as an Atom 1.0 document (UTF-8 bytes)."""

    def add(parent, tag: str, text: str | None = None, **attrs):
        element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", **attrs)
        if text is not None:
            element.text = xml_text(text)
        return element

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "vi")
    add(feed, "id", tag_uri(authority, campaign.year, f"cong-khai/ke-hoach/{campaign.id}"))
    add(feed, "title", f"{agency.full_name}: {campaign.title}", type="text")
    add(feed, "subtitle", "Các hoạt động dân vận được công khai", type="text")
    newest = max((a.published_at for a in activities), default=campaign_timestamp(campaign))
    add(feed, "updated", rfc3339(newest))
    author = add(feed, "author")
    add(author, "name", agency.full_name)
    add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    add(feed, "link", rel="alternate", type="text/html", href=page_url)
    for activity in activities:
        item = add(feed, "entry")
        add(item, "id", tag_uri(authority, campaign.year, f"cong-khai/hoat-dong/{activity.id}"))
        add(item, "title", activity.title, type="text")
        add(item, "updated", rfc3339(activity.published_at))
        add(item, "published", rfc3339(activity.published_at))
        add(item, "link", rel="alternate", type="text/html", href=f"{page_url}#hd-{activity.id}")
        add(item, "summary", f"{activity.unit_name} · {activity.dates_text}", type="text")
        add(item, "content", activity_text(activity), type="text")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8")


def entry_public_state(entry: Entry) -> str:
    """For staff pages: "public", "lapsed" (published, then left approved/signed) or ""."""
    if entry.published_at is None:
        return ""
    return "public" if is_public(entry) else "lapsed"
