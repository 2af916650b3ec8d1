"""/api/v1: campaigns, entries (list, get, create, update, evidence, actions), history, inbox."""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from danvan import permissions, queries
from danvan.api.common import (
    IF_MATCH_DOC,
    JSON_MIME,
    MULTIPART_MIME,
    Extra,
    action_doc,
    api_blueprint,
    binary_doc,
    body,
    etag,
    if_match_version,
    not_found,
    problems,
    version_conflict,
)
from danvan.api.errors import ProblemError
from danvan.api.schemas import (
    USER_ENTRY_ACTIONS,
    CampaignDetailSchema,
    CampaignPageSchema,
    CommentSchema,
    EntryCreateSchema,
    EntryDetailSchema,
    EntryFieldsSchema,
    EntryFilterArgs,
    EntryPageSchema,
    EventListSchema,
    InboxSchema,
    MeSchema,
    PageArgs,
)
from danvan.entries.views import load_entry
from danvan.extensions import db
from danvan.models import Attachment, Blob, Campaign, Entry, Event, Report
from danvan.models.entries import ENTRY_FIELDS
from danvan.operations import Conflict
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.pagination import paginate, paginate_list
from danvan.text import clean_line
from danvan.web import ACTION_LABELS, commit_and_notify, require, visible_campaign_or_404
from danvan.workflow import EntryAction

bp = api_blueprint(
    "api_entries", "Kế hoạch, hồ sơ hoạt động, minh chứng, thao tác duyệt, việc cần xử lý"
)


def actor():
    """The token's user (the request's ``current_user``) as a plain object."""
    return current_user._get_current_object()


def entry_detail(entry: Entry) -> Extra:
    """An entry with what this user may do with it now (the page's buttons)."""
    user = actor()
    return Extra(
        entry,
        available_actions=[t.action.value for t in permissions.available_transitions(user, entry)],
        can_edit=permissions.can_edit_entry(user, entry).allowed,
        can_add_evidence=permissions.can_add_evidence(user, entry).allowed,
    )


def event_rows(events: list[Event], labels: dict) -> dict:
    """History rows as the API gives them, oldest first."""
    items = [Extra(event, action_label=labels.get(event.action, event.action)) for event in events]
    return {"items": items, "total": len(items)}


# --- Me, campaigns -------------------------------------------------------------------------


@bp.route("/me")
@bp.response(200, MeSchema)
@problems(bp)
def me():
    """Người dùng của mã truy cập."""
    from flask import g

    user = actor()
    return Extra(
        user,
        roles=sorted(r.value for r in user.roles),
        token_read_only=bool(g.api_token.read_only),
    )


@bp.route("/campaigns")
@bp.arguments(PageArgs, location="query")
@bp.response(200, CampaignPageSchema)
@problems(bp)
def campaigns(args):
    """Kế hoạch người dùng được xem (mới nhất trước)."""
    page = paginate_list(queries.visible_campaigns(actor()), args["page"], args["per_page"])
    return page.as_dict()


@bp.route("/campaigns/<int:campaign_id>")
@bp.response(200, CampaignDetailSchema)
@problems(bp)
def campaign(campaign_id: int):
    """Một kế hoạch, với nội dung và ngày kỷ niệm để lập hồ sơ."""
    item = visible_campaign_or_404(campaign_id)
    user = actor()
    open_report = report_ops.open_report(item)
    sees = open_report is not None and permissions.can_view_report(user, open_report)
    return Extra(
        item,
        can_compile=permissions.can_compile(user, item),
        open_report_id=open_report.id if sees else None,
    )


# --- Entries -------------------------------------------------------------------------------


def _filters(args: dict) -> dict:
    return {
        "campaign_id": args["campaign_id"],
        "unit_id": args["unit_id"],
        "content_item_id": args["content_item_id"],
        "state": args["state"],
        "date_from": args["date_from"],
        "date_to": args["date_to"],
        "text": clean_line(args["q"] or ""),
    }


@bp.route("/entries")
@bp.arguments(EntryFilterArgs, location="query")
@bp.response(200, EntryPageSchema)
@problems(bp)
def entries(args):
    """Hồ sơ người dùng được xem, lọc như trang Hoạt động (mới nhất trước)."""
    stmt = (
        select(Entry)
        .where(queries.visibility_filter(actor()))
        .order_by(Entry.date_from.desc(), Entry.id.desc())
        .options(selectinload(Entry.attachments))
    )
    stmt = queries.apply_entry_filters(stmt, **_filters(args))
    return paginate(stmt, args["page"], args["per_page"], unique=True).as_dict()


def _fields(data: dict) -> dict:
    return {name: data.get(name) for name in ENTRY_FIELDS}


@bp.route("/entries", methods=["POST"])
@body(JSON_MIME)
@bp.arguments(EntryCreateSchema)
@bp.response(201, EntryDetailSchema)
@problems(bp)
def create_entry(data):
    """Lập hồ sơ (nháp, hoặc gửi duyệt luôn với ``submit``); minh chứng tải lên sau."""
    item = db.session.get(Campaign, data["campaign_id"])
    if item is None:
        raise ProblemError(
            422, errors=[{"field": "campaign_id", "message": "Kế hoạch không tồn tại."}]
        )
    user = actor()
    require(user.unit_id is not None, "Chỉ cán bộ thuộc một đơn vị mới được lập hồ sơ hoạt động.")
    entry = ops.save_new_entry(
        item,
        actor=user,
        fields=_fields(data),
        files=[],
        submit=data["submit"],
        confirm_outside=data["confirm_outside"],
        max_files=current_app.config["UPLOAD_MAX_FILES"],
    )
    entry_id = entry.id
    commit_and_notify()
    entry = load_entry(entry_id)
    return entry_detail(entry), 201, etag(entry)


@bp.route("/entries/<int:entry_id>")
@bp.response(200, EntryDetailSchema)
@problems(bp)
def entry(entry_id: int):
    """Một hồ sơ (ETag: phiên bản), với các thao tác người dùng được làm lúc này."""
    item = load_entry(entry_id)
    return entry_detail(item), 200, etag(item)


@bp.route("/entries/<int:entry_id>", methods=["PUT"])
@body(JSON_MIME)
@bp.arguments(EntryFieldsSchema)
@bp.response(200, EntryDetailSchema)
@bp.doc(**IF_MATCH_DOC)
@problems(bp)
def update_entry(data, entry_id: int):
    """Sửa hồ sơ (người lập, khi còn nháp, đã rút hoặc bị trả lại); cần If-Match."""
    item = load_entry(entry_id)
    version = if_match_version()
    try:
        ops.save_entry(
            item,
            actor=actor(),
            fields=_fields(data),
            files=[],
            remove_ids=[],
            submit=data["submit"],
            expected_version=version,
            confirm_outside=data["confirm_outside"],
            max_files=current_app.config["UPLOAD_MAX_FILES"],
        )
    except Conflict as error:
        raise version_conflict(error) from error
    commit_and_notify()
    item = load_entry(entry_id)
    return entry_detail(item), 200, etag(item)


@bp.route(
    "/entries/<int:entry_id>/actions/<action>",
    methods=["POST"],
)
@body(JSON_MIME)
@bp.arguments(CommentSchema, required=False)
@bp.response(200, EntryDetailSchema)
@bp.doc(**action_doc(USER_ENTRY_ACTIONS))
@problems(bp)
def act(data, entry_id: int, action: str):
    """Gửi duyệt, rút lại, duyệt, trả lại, gửi duyệt lại, trả về Văn phòng; cần If-Match."""
    if action not in USER_ENTRY_ACTIONS:
        raise not_found()
    item = load_entry(entry_id)
    version = if_match_version()
    try:
        ops.act(
            item,
            EntryAction(action),
            actor=actor(),
            comment=(data or {}).get("comment"),
            expected_version=version,
        )
    except Conflict as error:
        raise version_conflict(error) from error
    commit_and_notify()
    item = load_entry(entry_id)
    return entry_detail(item), 200, etag(item)


@bp.route("/entries/<int:entry_id>/history")
@bp.response(200, EventListSchema)
@problems(bp)
def entry_history(entry_id: int):
    """Lịch sử xử lý của hồ sơ."""
    item = load_entry(entry_id)
    events = db.session.scalars(select(Event).where(Event.entry_id == item.id).order_by(Event.id))
    return event_rows(list(events), ACTION_LABELS)


# --- Evidence ------------------------------------------------------------------------------


class UploadArgs(Schema):
    file = Upload(required=True)


@bp.route("/entries/<int:entry_id>/attachments", methods=["POST"])
@body(MULTIPART_MIME)
@bp.arguments(UploadArgs, location="files")
@bp.response(201, EntryDetailSchema)
@problems(bp)
def upload_attachment(files, entry_id: int):
    """Tải lên một tệp minh chứng (người lập; khi còn sửa được hoặc chờ Trưởng phòng)."""
    item = load_entry(entry_id)
    upload = files["file"]
    cfg = current_app.config
    data = upload.read(cfg["UPLOAD_MAX_BYTES"] + 1)
    ops.add_attachment(
        item,
        actor=actor(),
        filename=upload.filename or "",
        data=data,
        max_bytes=cfg["UPLOAD_MAX_BYTES"],
        max_files=cfg["UPLOAD_MAX_FILES"],
    )
    commit_and_notify()
    item = load_entry(entry_id)
    return entry_detail(item), 201, etag(item)


def _attachment(entry: Entry, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry_id != entry.id:
        raise not_found()
    return attachment


@bp.route("/entries/<int:entry_id>/attachments/<int:attachment_id>")
@bp.doc(**binary_doc("application/octet-stream"))
@problems(bp)
def download_attachment(entry_id: int, attachment_id: int):
    """Tải một tệp minh chứng (đúng kiểu tệp đã lưu)."""
    item = load_entry(entry_id)
    attachment = _attachment(item, attachment_id)
    blob = db.session.get(Blob, attachment.blob_sha256)
    response = send_file(
        io.BytesIO(blob.data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/entries/<int:entry_id>/attachments/<int:attachment_id>", methods=["DELETE"])
@bp.response(204)
@problems(bp)
def delete_attachment(entry_id: int, attachment_id: int):
    """Xóa một tệp minh chứng (người lập, khi hồ sơ còn sửa được)."""
    item = load_entry(entry_id)
    attachment = _attachment(item, attachment_id)
    ops.remove_attachment(attachment, actor=actor())
    commit_and_notify()
    return None


# --- Inbox ---------------------------------------------------------------------------------


@bp.route("/inbox")
@bp.arguments(EntryFilterArgs, location="query")
@bp.response(200, InboxSchema)
@problems(bp)
def inbox(args):
    """Việc cần xử lý: hồ sơ chờ người dùng (cũ nhất trước) và báo cáo chờ trình, ký, phát hành."""
    user = actor()
    stmt = (
        select(Entry)
        .where(queries.entry_inbox_filter(user))
        .order_by(Entry.updated_at, Entry.id)
        .options(selectinload(Entry.attachments))
    )
    stmt = queries.apply_entry_filters(stmt, **_filters(args))
    page = paginate(stmt, args["page"], args["per_page"], unique=True)
    from danvan.api.reports import report_row

    reports: list[Report] = queries.report_inbox(user)
    return {**page.as_dict(), "reports": [report_row(r) for r in reports]}
