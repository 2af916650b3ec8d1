"""What the API's views share: blueprints with problem+json, ETag/If-Match, documentation."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from danvan.api.errors import DOCUMENTED_STATUSES, ProblemError, register_handlers
from danvan.operations import Conflict
from danvan.operations.reports import NumberChanged

BINARY = {"type": "string", "format": "binary"}
JSON_MIME = "application/json"
MULTIPART_MIME = "multipart/form-data"


def api_blueprint(name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1 whose errors are problem+json and whose bodies are checked."""
    bp = Blueprint(name, __name__, url_prefix="/api/v1", description=description)
    register_handlers(bp)
    bp.before_request(_check_body_type)
    return bp


def _check_body_type():
    """415 when a body comes in a content type the operation does not take."""
    view = current_app.view_functions.get(request.endpoint)
    kind = getattr(view, "_api_body", None)
    if kind is None:
        return None
    has_body = bool(request.content_length) or bool(request.mimetype)
    if kind == JSON_MIME and has_body and request.mimetype != JSON_MIME:
        raise ProblemError(415, "Nội dung yêu cầu phải là application/json.")
    if kind == MULTIPART_MIME and request.mimetype != MULTIPART_MIME:
        raise ProblemError(415, "Nội dung yêu cầu phải là multipart/form-data.")
    return None


def body(kind: str):
    """Mark the content type an operation's body must have (JSON_MIME or MULTIPART_MIME)."""

    def decorator(func):
        func._api_body = kind
        return func

    return decorator


def problems(bp: Blueprint, *, skip: tuple[int, ...] = (422,)):
    """Document every problem+json status on an operation (422 comes with its arguments)."""

    def decorator(func):
        for status in DOCUMENTED_STATUSES:
            if status not in skip:
                func = bp.alt_response(status, response=_response_name(status))(func)
        return func

    return decorator


def _response_name(status: int) -> str:
    import http

    return http.HTTPStatus(status).name


def binary_doc(*mimes: str) -> dict:
    """The 200 response of a download, one entry per content type it may have."""
    return {
        "responses": {
            "200": {
                "description": "Tệp",
                "content": {mime: {"schema": BINARY} for mime in mimes},
            }
        }
    }


def etag(obj) -> dict:
    """The ETag header of an entry or report: its version (bumped by every change)."""
    return {"ETag": f'"{obj.version}"'}


IF_MATCH_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": True,
            "schema": {"type": "string"},
            "description": 'ETag của lần đọc gần nhất (GET), ví dụ "3"',
        }
    ]
}
IF_MATCH_OPTIONAL_DOC = {
    "parameters": [{**IF_MATCH_DOC["parameters"][0], "required": False}],
}


def version_conflict(error: Conflict, *, checked: bool = True) -> ProblemError:
    """A lost version check: 412 against the client's If-Match; 409 when it sent none, or
    when the conflict is about something else (the number taken by another document)."""
    if not checked or isinstance(error, NumberChanged):
        return ProblemError(409, error.message)
    return ProblemError(412, error.message)


def if_match_version(*, required: bool = True) -> int | None:
    """The version the client saw, from If-Match: 428 when required and missing.

    ``*`` means "whatever it is now" (None: no check). A tag that is not one of our versions
    is passed on as -1, which the operation's own version check refuses (412).
    """
    if "If-Match" not in request.headers:
        if required:
            raise ProblemError(428)
        return None
    tags = request.if_match
    if tags.star_tag:
        return None
    for value in tags.as_set(include_weak=True):
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            return int(value)
    return -1


class Extra:
    """An object as a schema dumps it, with extra attributes on top."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name):
        if name in self._extra:
            return self._extra[name]
        return getattr(self._obj, name)


def not_found() -> ProblemError:
    """The 404 problem (no hint whether the object exists)."""
    return ProblemError(404)


def action_doc(actions: tuple[str, ...]) -> dict:
    """If-Match, and the ``action`` path parameter's values (the route takes any word: 404)."""
    action = {
        "in": "path",
        "name": "action",
        "required": True,
        "schema": {"type": "string", "enum": list(actions)},
    }
    return {"parameters": [*IF_MATCH_DOC["parameters"], action]}


def kind_doc(kinds) -> dict:
    """The ``kind`` path parameter's values (the route takes any word: 404 for the others)."""
    kind = {"in": "path", "name": "kind", "required": True, "schema": {"enum": list(kinds)}}
    return {"parameters": [{**kind, "schema": {"type": "string", **kind["schema"]}}]}
