"""marshmallow schemas of the API: request bodies, query parameters and responses.

apispec turns them into the OpenAPI 3.1 document; every limit a column or an operation has
(lengths, id ranges) is declared here so that a request that passes the schema cannot fail
in the database.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from danvan.entries.forms import MAX_PEOPLE, MODEL_FIELDS
from danvan.forms import ID_MAX
from danvan.operations.entries import MAX_AMOUNT
from danvan.workflow import EntryState, ReportState

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
USER_ENTRY_ACTIONS = ("submit", "withdraw", "approve", "return", "resubmit", "send_back")
REPORT_ACTIONS = ("compile", "submit", "return", "sign", "issue", "delete")


def _id(**kwargs) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(1, ID_MAX, error="Mã số phải từ 1 đến 2.147.483.647."),
        **kwargs,
    )


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(
        validate=validate.Length(max=max_length, error=f"Tối đa {max_length} ký tự."), **kwargs
    )


def _count(**kwargs) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(0, MAX_PEOPLE, error="Số người phải từ 0 đến 10.000.000."),
        **kwargs,
    )


# --- Problems ------------------------------------------------------------------------------


class FieldErrorSchema(Schema):
    field = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = fields.String(required=True, metadata={"description": "URN của loại lỗi"})
    title = fields.String(required=True, metadata={"description": "Tiêu đề tiếng Việt"})
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True, metadata={"description": "Đường dẫn của yêu cầu"})
    errors = fields.List(
        fields.Nested(FieldErrorSchema), metadata={"description": "Lỗi từng trường"}
    )


# --- Query parameters ----------------------------------------------------------------------


class PageArgs(Schema):
    page = fields.Integer(
        load_default=1, validate=validate.Range(1, 10**6, error="Trang phải từ 1 trở lên.")
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(1, MAX_PER_PAGE, error=f"Mỗi trang từ 1 đến {MAX_PER_PAGE} dòng."),
    )


class EntryFilterArgs(PageArgs):
    campaign_id = _id(load_default=None)
    unit_id = _id(load_default=None)
    content_item_id = _id(load_default=None)
    state = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in EntryState], error="Trạng thái không hợp lệ."),
    )
    date_from = fields.Date(load_default=None, metadata={"description": "YYYY-MM-DD"})
    date_to = fields.Date(load_default=None, metadata={"description": "YYYY-MM-DD"})
    q = _text(200, load_default="", metadata={"description": "Tìm không dấu"})


class ReportFilterArgs(PageArgs):
    campaign_id = _id(load_default=None)
    state = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in ReportState], error="Trạng thái không hợp lệ."),
    )


class ArchiveArgs(PageArgs):
    q = _text(200, load_default="")
    year = fields.Integer(
        load_default=None, validate=validate.Range(1, 9999, error="Năm từ 1 đến 9999.")
    )


class RegisterArgs(PageArgs):
    year = fields.Integer(
        load_default=None, validate=validate.Range(1, 9999, error="Năm từ 1 đến 9999.")
    )


# --- People, units, campaigns --------------------------------------------------------------


class UserBriefSchema(Schema):
    id = fields.Integer(required=True)
    full_name = fields.String(required=True)


class UnitSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    abbreviation = fields.String(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    unit = fields.Nested(UnitSchema, allow_none=True, required=True)
    token_read_only = fields.Boolean(required=True)


class ContentItemSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    archived = fields.Boolean(required=True)


class ObservanceSchema(Schema):
    id = fields.Integer(required=True)
    day = fields.Date(required=True)
    name = fields.String(required=True)
    archived = fields.Boolean(required=True)


class CampaignSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    year = fields.Integer(required=True)
    status = fields.String(required=True)
    kind = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    report_deadline = fields.Date(required=True)
    evidence_required = fields.Boolean(required=True)


class CampaignDetailSchema(CampaignSchema):
    content_items = fields.List(fields.Nested(ContentItemSchema), required=True)
    observances = fields.List(fields.Nested(ObservanceSchema), required=True)
    can_compile = fields.Boolean(required=True)
    open_report_id = fields.Integer(allow_none=True, required=True)


class CampaignPageSchema(Schema):
    items = fields.List(fields.Nested(CampaignSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


# --- Entries -------------------------------------------------------------------------------


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True, attribute="blob_sha256")
    created_at = fields.DateTime(required=True)


class EntrySchema(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    unit = fields.Nested(UnitSchema, required=True)
    author = fields.Nested(UserBriefSchema, required=True)
    content_item_id = fields.Integer(required=True)
    observance_id = fields.Integer(allow_none=True, required=True)
    title = fields.String(required=True)
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    place = fields.String(required=True)
    activity_form = fields.String(required=True)
    participants_officials = fields.Integer(required=True)
    participants_citizens = fields.Integer(required=True)
    amount_vnd = fields.Integer(allow_none=True, required=True)
    gifts = fields.String(required=True)
    result = fields.String(required=True)
    model_name = fields.String(allow_none=True, required=True)
    model_field = fields.String(allow_none=True, required=True)
    model_description = fields.String(allow_none=True, required=True)
    outside_period_confirmed = fields.Boolean(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    step = fields.Integer(allow_none=True, required=True)
    last_comment = fields.String(allow_none=True, required=True)
    report_id = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)


class EntryDetailSchema(EntrySchema):
    available_actions = fields.List(fields.String(), required=True)
    can_edit = fields.Boolean(required=True)
    can_add_evidence = fields.Boolean(required=True)


class EntryPageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class EntryFieldsSchema(Schema):
    """What an author fills in (as on the form); dates as YYYY-MM-DD."""

    content_item_id = _id(required=True)
    title = fields.String(
        required=True,
        validate=validate.Length(1, 500, error="Tên hoạt động từ 1 đến 500 ký tự."),
    )
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    place = _text(300, load_default="")
    activity_form = _text(200, load_default="")
    observance_id = _id(load_default=None, allow_none=True)
    participants_officials = _count(load_default=0)
    participants_citizens = _count(load_default=0)
    amount_vnd = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(0, MAX_AMOUNT - 1, error="Số tiền không hợp lệ."),
    )
    gifts = _text(2000, load_default="")
    result = _text(20000, load_default="")
    model_name = _text(300, load_default=None, allow_none=True)
    model_field = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(
            [c.value for c in MODEL_FIELDS if c.value], error="Lĩnh vực mô hình không hợp lệ."
        ),
    )
    model_description = _text(20000, load_default=None, allow_none=True)
    confirm_outside = fields.Boolean(
        load_default=False, metadata={"description": "Xác nhận thời gian ngoài kế hoạch"}
    )
    submit = fields.Boolean(load_default=False, metadata={"description": "Lưu rồi gửi duyệt"})


class EntryCreateSchema(EntryFieldsSchema):
    campaign_id = _id(required=True)


class CommentSchema(Schema):
    comment = _text(5000, load_default="", allow_none=True)


class EventSchema(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True)
    action_label = fields.String(required=True)
    actor = fields.Nested(UserBriefSchema, allow_none=True, required=True)
    acting_for = fields.Nested(UserBriefSchema, allow_none=True, required=True)
    from_state = fields.String(allow_none=True, required=True)
    to_state = fields.String(allow_none=True, required=True)
    comment = fields.String(allow_none=True, required=True)
    changes = fields.List(fields.Dict(), allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class EventListSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    total = fields.Integer(required=True)


class UploadSchema(Schema):
    file = fields.Raw(
        required=True, metadata={"type": "string", "format": "binary"}, allow_none=False
    )


class VerifyUploadSchema(UploadSchema):
    p7s = fields.Raw(metadata={"type": "string", "format": "binary"})


# --- Reports -------------------------------------------------------------------------------


class ReportSchema(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    label = fields.String(required=True)
    signer = fields.Nested(UserBriefSchema, allow_none=True, required=True)
    number = fields.Integer(allow_none=True, required=True)
    number_symbol = fields.String(allow_none=True, required=True)
    issued_date = fields.Date(allow_none=True, required=True)
    signed_at = fields.DateTime(allow_none=True, required=True)
    issued_at = fields.DateTime(allow_none=True, required=True)
    last_comment = fields.String(allow_none=True, required=True)
    compiled_at = fields.DateTime(allow_none=True, required=True)
    version = fields.Integer(required=True)
    files = fields.List(fields.String(), required=True, metadata={"description": "draft, docx…"})


class ReportDetailSchema(ReportSchema):
    section_leadership = fields.String(required=True)
    section_strengths = fields.String(required=True)
    section_weaknesses = fields.String(required=True)
    section_proposals = fields.String(required=True)
    entry_ids = fields.List(fields.Integer(), required=True)
    available_actions = fields.List(fields.String(), required=True)
    archived_document_id = fields.Integer(allow_none=True, required=True)


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class InboxSchema(EntryPageSchema):
    reports = fields.List(fields.Nested(ReportSchema), required=True)


class CompileSchema(Schema):
    supplement = fields.Boolean(load_default=False, metadata={"description": "Báo cáo bổ sung"})


class ReportTextsSchema(Schema):
    section_leadership = _text(20000)
    section_strengths = _text(20000)
    section_weaknesses = _text(20000)
    section_proposals = _text(20000)


class ReportActionSchema(Schema):
    signer_id = _id(load_default=None, metadata={"description": "Trình ký: người ký"})
    comment = _text(5000, load_default="", metadata={"description": "Trả lại: ý kiến"})
    expected_number = fields.Integer(
        load_default=None,
        validate=validate.Range(1, 10**8, error="Số văn bản không hợp lệ."),
        metadata={"description": "Ký duyệt: số văn bản đã được báo trước"},
    )
    accept_deviations = fields.Boolean(load_default=False)
    recipient_ids = fields.List(
        _id(), load_default=list, validate=validate.Length(max=200, error="Tối đa 200 nơi nhận.")
    )


# --- Register, archive, verification -------------------------------------------------------


class RegisterEntrySchema(Schema):
    id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    number = fields.Integer(required=True)
    number_symbol = fields.String(required=True)
    doc_date = fields.Date(required=True)
    type_and_subject = fields.String(required=True)
    signer_name = fields.String(required=True)
    recipients = fields.List(fields.String(), required=True)
    archive_holder = fields.String(required=True)
    copies = fields.Integer(required=True)
    sent_date = fields.Date(allow_none=True, required=True)
    received_by = fields.String(required=True)
    note = fields.String(required=True)
    report_id = fields.Integer(allow_none=True, required=True)


class RegisterPageSchema(Schema):
    items = fields.List(fields.Nested(RegisterEntrySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class ArchivedDocumentSchema(Schema):
    id = fields.Integer(required=True)
    report_id = fields.Integer(required=True)
    number_symbol = fields.String(required=True)
    year = fields.Integer(required=True)
    subject = fields.String(required=True)
    doc_date = fields.Date(required=True)
    signer_name = fields.String(required=True)
    signer_title = fields.String(required=True)
    signed_at = fields.DateTime(required=True)
    issued_at = fields.DateTime(required=True)
    pdf_sha256 = fields.String(allow_none=True, required=True)
    docx_sha256 = fields.String(required=True)
    p7s_sha256 = fields.String(required=True)


class ArchivePageSchema(Schema):
    items = fields.List(fields.Nested(ArchivedDocumentSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class SignatureCheckSchema(Schema):
    field_name = fields.String(required=True)
    signer = fields.String(allow_none=True, required=True)
    ok = fields.Boolean(required=True)


class VerdictSchema(Schema):
    status = fields.String(required=True, metadata={"description": "valid, invalid, unreadable"})
    valid = fields.Boolean(required=True)
    kind = fields.String(required=True)
    sha256 = fields.String(required=True)
    document = fields.String(allow_none=True, required=True)
    archived_document_id = fields.Integer(allow_none=True, required=True)
    matched_as = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    notes = fields.List(fields.String(), required=True)
    signatures = fields.List(fields.Nested(SignatureCheckSchema), required=True)
