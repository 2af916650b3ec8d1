"""RFC 9457 problem details (``application/problem+json``) for everything under /api.

The HTML pages keep their own error pages: these handlers are registered on the API's
blueprints only, and ``routing_problem`` answers the unknown paths and methods under /api.
"""

from __future__ import annotations

from flask import current_app, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from danvan.extensions import db
from danvan.operations import STALE_MESSAGE, OperationError

PROBLEM_MIME = "application/problem+json"

# status → (type slug, Vietnamese title, default detail)
PROBLEMS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Yêu cầu không hợp lệ", "Yêu cầu không hợp lệ."),
    401: (
        "unauthorized",
        "Chưa xác thực",
        "Cần mã truy cập API hợp lệ trong tiêu đề Authorization: Bearer <mã>.",
    ),
    403: ("forbidden", "Không có quyền", "Bạn không có quyền thực hiện thao tác này."),
    404: ("not-found", "Không tìm thấy", "Không tìm thấy tài nguyên bạn yêu cầu."),
    405: ("method-not-allowed", "Phương thức không được hỗ trợ", "Phương thức không được hỗ trợ."),
    406: ("not-acceptable", "Không đáp ứng được định dạng", "Không có định dạng phù hợp."),
    409: ("conflict", "Xung đột dữ liệu", STALE_MESSAGE),
    412: (
        "precondition-failed",
        "Phiên bản đã thay đổi",
        "Đối tượng đã được người khác thay đổi (If-Match không khớp); hãy tải lại rồi thử lại.",
    ),
    413: ("payload-too-large", "Dữ liệu quá lớn", "Tệp hoặc yêu cầu vượt quá dung lượng cho phép."),
    415: (
        "unsupported-media-type",
        "Kiểu nội dung không được hỗ trợ",
        "Kiểu nội dung (Content-Type) của yêu cầu không được hỗ trợ.",
    ),
    422: ("validation", "Dữ liệu không hợp lệ", "Vui lòng kiểm tra lại các trường được nêu."),
    428: (
        "precondition-required",
        "Thiếu điều kiện If-Match",
        "Thao tác này cần tiêu đề If-Match mang ETag của lần đọc gần nhất.",
    ),
    429: (
        "too-many-requests",
        "Quá nhiều yêu cầu",
        "Bạn đã gửi quá nhiều yêu cầu. Vui lòng đợi ít phút rồi thử lại.",
    ),
    500: (
        "internal",
        "Lỗi hệ thống",
        "Hệ thống gặp lỗi. Vui lòng thử lại sau hoặc liên hệ quản trị hệ thống.",
    ),
    503: (
        "unavailable",
        "Dịch vụ tạm thời không khả dụng",
        "Dịch vụ tạm thời không khả dụng. Vui lòng thử lại sau.",
    ),
}
DOCUMENTED_STATUSES = tuple(PROBLEMS)

# marshmallow's built-in messages in Vietnamese (anything else: "Giá trị không hợp lệ.").
FIELD_MESSAGES = {
    "Missing data for required field.": "Bắt buộc.",
    "Field may not be null.": "Không được để trống (null).",
    "Unknown field.": "Trường không được hỗ trợ.",
    "Not a valid integer.": "Phải là số nguyên.",
    "Not a valid string.": "Phải là chuỗi ký tự.",
    "Not a valid boolean.": "Phải là true hoặc false.",
    "Not a valid date.": "Phải là ngày dạng YYYY-MM-DD.",
    "Not a valid number.": "Phải là số.",
    "Not a valid list.": "Phải là danh sách.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Invalid value.": "Giá trị không hợp lệ.",
    "Not a valid mapping type.": "Phải là một đối tượng JSON.",
    "Invalid input.": "Giá trị không hợp lệ.",
    "Not a valid file.": "Phải là một tệp.",
    "Number too large.": "Số quá lớn.",
}
FALLBACK_FIELD_MESSAGE = "Giá trị không hợp lệ."


class ProblemError(Exception):
    """Raised by API code to answer with a problem (status, detail, optional field errors)."""

    def __init__(self, status: int, detail: str | None = None, *, errors=None, headers=None):
        super().__init__(detail or PROBLEMS[status][2])
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def _vietnamese(message: str) -> str:
    if message in FIELD_MESSAGES:
        return FIELD_MESSAGES[message]
    # Our own validators speak Vietnamese already; marshmallow's English ones are ASCII.
    return message if not message.isascii() else FALLBACK_FIELD_MESSAGE


def field_errors(messages, prefix: str = "") -> list[dict]:
    """marshmallow's nested messages as a flat list of {field, message}, in Vietnamese."""
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out.extend(field_errors(value, name))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(field_errors(item, prefix))
    else:
        out.append({"field": prefix or "body", "message": _vietnamese(str(messages))})
    return out


def operation_errors(error: OperationError) -> list[dict]:
    """An operation's per-field messages (already Vietnamese) as {field, message}."""
    return [{"field": k, "message": v} for k, v in error.errors.items()]


def problem(status: int, detail: str | None = None, *, errors=None, headers=None):
    """A problem+json response: type, Vietnamese title, status, detail, instance."""
    slug, title, default = PROBLEMS.get(status, PROBLEMS[500 if status >= 500 else 400])
    body = {
        "type": f"urn:danvan:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail or default,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="danvan"'
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def http_problem(error: HTTPException):
    """An HTTP error (abort, routing, webargs) as a problem."""
    db.session.rollback()
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422 and "messages" in data:  # webargs: the request did not fit the schema
        # {location: {field: [messages]}}: the location is left out of the field name.
        messages = data["messages"]
        flat = {}
        for value in messages.values() if isinstance(messages, dict) else []:
            if isinstance(value, dict):
                flat.update(value)
        return problem(422, errors=field_errors(flat or messages))
    custom = error.description != type(error).description
    detail = error.description if custom else None
    headers = {}
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if code not in PROBLEMS:
        code = 500 if code >= 500 else 400
    return problem(code, detail, headers=headers)


def _problem_error(error: ProblemError):
    db.session.rollback()
    return problem(error.status, error.detail, errors=error.errors, headers=error.headers)


def _operation_error(error: OperationError):
    db.session.rollback()
    return problem(error.status, error.message, errors=operation_errors(error))


def _validation_error(error: ValidationError):
    db.session.rollback()
    return problem(422, errors=field_errors(error.messages))


def _write_conflict(error: Exception):
    db.session.rollback()
    current_app.logger.warning("Xung đột ghi cơ sở dữ liệu (API): %s", error)
    return problem(409, STALE_MESSAGE)


def _unexpected(error: Exception):
    db.session.rollback()
    current_app.logger.exception("Lỗi không lường trước trong API", exc_info=error)
    return problem(500)


def register_handlers(bp) -> None:
    """Answer every error of ``bp``'s views as problem+json."""
    bp.register_error_handler(HTTPException, http_problem)
    bp.register_error_handler(ProblemError, _problem_error)
    bp.register_error_handler(OperationError, _operation_error)
    bp.register_error_handler(ValidationError, _validation_error)
    bp.register_error_handler(StaleDataError, _write_conflict)
    bp.register_error_handler(IntegrityError, _write_conflict)
    bp.register_error_handler(Exception, _unexpected)
