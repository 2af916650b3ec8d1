"""/api/v1: reports (compile, texts, submit, return, sign, issue, delete), their files, history."""

from __future__ import annotations

import io

from flask import send_file
from sqlalchemy import select

from danvan import delivery, permissions, services
from danvan.api.common import (
    IF_MATCH_DOC,
    IF_MATCH_OPTIONAL_DOC,
    JSON_MIME,
    Extra,
    action_doc,
    api_blueprint,
    binary_doc,
    body,
    etag,
    if_match_version,
    kind_doc,
    not_found,
    problems,
    version_conflict,
)
from danvan.api.entries import actor, event_rows
from danvan.api.errors import ProblemError
from danvan.api.schemas import (
    REPORT_ACTIONS,
    CompileSchema,
    EventListSchema,
    ReportActionSchema,
    ReportDetailSchema,
    ReportFilterArgs,
    ReportPageSchema,
    ReportTextsSchema,
)
from danvan.documents import pdf as pdfmod
from danvan.extensions import db
from danvan.models import ArchivedDocument, Blob, Campaign, Event, Report, User
from danvan.operations import Conflict, Invalid
from danvan.operations import reports as ops
from danvan.pagination import paginate
from danvan.reports.views import DOCX_MIME, load_report
from danvan.web import REPORT_EVENT_LABELS, commit_and_notify, require
from danvan.workflow import REPORT_STATE_LABELS, ReportAction, report_action_transition

bp = api_blueprint("api_reports", "Tổng hợp, trình ký, ký duyệt, trả lại, phát hành báo cáo")

# kind → (the report's column, content type, file name suffix)
FILES = {
    "draft": ("draft_docx_sha256", DOCX_MIME, "du-thao.docx"),
    "docx": ("final_docx_sha256", DOCX_MIME, "docx"),
    "p7s": ("p7s_sha256", "application/pkcs7-signature", "docx.p7s"),
    "pdf": ("signed_pdf_sha256", "application/pdf", "pdf"),
}
PDF_FAILED = "Không tạo được bản PDF: {error}. Báo cáo chưa được ký."


def report_row(report: Report) -> Extra:
    """A report as the lists give it."""
    return Extra(
        report,
        state_label=REPORT_STATE_LABELS[report.state_enum],
        label=ops.report_label(report),
        files=[kind for kind, (column, *_rest) in FILES.items() if getattr(report, column)],
    )


def report_detail(report: Report) -> Extra:
    """A report with its entries and what this user may do with it now."""
    user = actor()
    entries = ops.report_entries(report)
    archived_id = db.session.scalar(
        select(ArchivedDocument.id).where(ArchivedDocument.report_id == report.id)
    )
    actions = [
        t.action.value
        for t in permissions.available_report_transitions(user, report)
        if t.action != ReportAction.EDIT and (t.action != ReportAction.DELETE or not entries)
    ]
    row = report_row(report)
    return Extra(
        row,
        entry_ids=[e.id for e in entries],
        available_actions=actions,
        archived_document_id=archived_id,
    )


def _sees_reports() -> None:
    # can_view_report looks at the user only (a report not yet loaded stands in for any).
    require(
        permissions.can_view_report(actor(), Report()),
        "Chỉ Văn phòng, lãnh đạo Sở và Văn thư được xem báo cáo.",
    )


@bp.route("/reports")
@bp.arguments(ReportFilterArgs, location="query")
@bp.response(200, ReportPageSchema)
@problems(bp)
def reports(args):
    """Báo cáo (mới nhất trước), lọc theo kế hoạch và trạng thái."""
    _sees_reports()
    stmt = select(Report).order_by(Report.id.desc())
    if args["campaign_id"]:
        stmt = stmt.where(Report.campaign_id == args["campaign_id"])
    if args["state"]:
        stmt = stmt.where(Report.state == args["state"])
    page = paginate(stmt, args["page"], args["per_page"])
    return page.as_dict([report_row(r) for r in page.items])


@bp.route("/reports/<int:report_id>")
@bp.response(200, ReportDetailSchema)
@problems(bp)
def report(report_id: int):
    """Một báo cáo (ETag: phiên bản), với các thao tác người dùng được làm lúc này."""
    item = load_report(report_id)
    return report_detail(item), 200, etag(item)


@bp.route("/reports/<int:report_id>/history")
@bp.response(200, EventListSchema)
@problems(bp)
def report_history(report_id: int):
    """Lịch sử xử lý của báo cáo."""
    item = load_report(report_id)
    events = db.session.scalars(select(Event).where(Event.report_id == item.id).order_by(Event.id))
    return event_rows(list(events), REPORT_EVENT_LABELS)


@bp.route("/campaigns/<int:campaign_id>/report", methods=["POST"])
@body(JSON_MIME)
@bp.arguments(CompileSchema, required=False)
@bp.response(200, ReportDetailSchema)
@bp.doc(**IF_MATCH_OPTIONAL_DOC)
@problems(bp)
def compile_report(data, campaign_id: int):
    """Tổng hợp báo cáo của kế hoạch (Văn phòng). If-Match: ETag của báo cáo đang mở, "0"
    khi chưa thấy báo cáo nào; không gửi: không kiểm tra."""
    item = db.session.get(Campaign, campaign_id)
    if item is None:
        raise not_found()
    version = if_match_version(required=False)
    try:
        result = ops.compile_report(
            item,
            actor=actor(),
            expected_version=version,
            supplement=bool((data or {}).get("supplement")),
        )
    except Conflict as error:
        raise version_conflict(error, checked=version is not None) from error
    report_id = result.id
    commit_and_notify()
    result = load_report(report_id)
    return report_detail(result), 200, etag(result)


@bp.route("/reports/<int:report_id>/texts", methods=["PATCH"])
@body(JSON_MIME)
@bp.arguments(ReportTextsSchema)
@bp.response(200, ReportDetailSchema)
@bp.doc(**IF_MATCH_DOC)
@problems(bp)
def update_texts(data, report_id: int):
    """Sửa các phần I, III, IV của dự thảo (Văn phòng); cần If-Match."""
    item = load_report(report_id)
    version = if_match_version()
    try:
        ops.update_report_texts(item, actor=actor(), texts=data, expected_version=version)
    except Conflict as error:
        raise version_conflict(error) from error
    commit_and_notify()
    item = load_report(report_id)
    return report_detail(item), 200, etag(item)


def _inputs(report: Report, names: tuple[str, ...], data: dict) -> dict:
    """What the operation takes besides the version, by the names the workflow table gives."""

    def signer():
        found = db.session.get(User, data.get("signer_id") or 0)
        if found is None:
            raise Invalid("Vui lòng chọn người ký.", errors={"signer_id": "Bắt buộc."})
        return found

    makers = {
        "signer": signer,
        "comment": lambda: data.get("comment"),
        "services": lambda: services.signing_services(actor(), agency=report.campaign.agency),
        "expected_number": lambda: data.get("expected_number"),
        "accept_deviations": lambda: bool(data.get("accept_deviations")),
        "recipients": lambda: delivery.recipients_by_ids(
            report.campaign, [str(i) for i in data.get("recipient_ids") or []]
        ),
    }
    return {name: makers[name]() for name in names}


@bp.route(
    "/reports/<int:report_id>/actions/<action>",
    methods=["POST"],
)
@body(JSON_MIME)
@bp.arguments(ReportActionSchema, required=False)
@bp.response(200, ReportDetailSchema)
@bp.doc(**action_doc(REPORT_ACTIONS))
@problems(bp)
def act(data, report_id: int, action: str):
    """Tổng hợp lại, trình ký (signer_id), trả lại (comment), ký duyệt (expected_number),
    phát hành (recipient_ids), xóa dự thảo trống; cần If-Match."""
    if action not in REPORT_ACTIONS:
        raise not_found()
    item = load_report(report_id)
    version = if_match_version()
    transition = report_action_transition(ReportAction(action))
    data = data or {}
    try:
        given = _inputs(item, transition.inputs, data)
        getattr(ops, transition.operation)(item, actor=actor(), expected_version=version, **given)
    except Conflict as error:
        raise version_conflict(error) from error
    except pdfmod.PdfConversionError as error:
        raise ProblemError(503, PDF_FAILED.format(error=error)) from error
    commit_and_notify()
    item = load_report(report_id)
    return report_detail(item), 200, etag(item)


@bp.route("/reports/<int:report_id>/files/<kind>")
@bp.doc(
    **binary_doc(DOCX_MIME, "application/pkcs7-signature", "application/pdf"), **kind_doc(FILES)
)
@problems(bp)
def report_file(report_id: int, kind: str):
    """Tệp của báo cáo: dự thảo .docx, bản .docx đã ký, chữ ký .p7s, bản PDF đã ký."""
    if kind not in FILES:
        raise not_found()
    item = load_report(report_id)
    column, mimetype, suffix = FILES[kind]
    sha = getattr(item, column)
    if not sha:
        raise not_found()
    if kind == "draft":
        name = ops.draft_file_name(item)
    elif item.number_symbol:
        name = f"{ops.file_stem(item.number_year, item.number_symbol)}.{suffix}"
    else:
        name = f"bao-cao-{item.id}.{suffix}"
    blob = db.session.get(Blob, sha)
    return send_file(
        io.BytesIO(blob.data), mimetype=mimetype, as_attachment=True, download_name=name
    )
