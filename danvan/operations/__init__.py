"""Domain operations: ``verb_noun(obj, *, actor, ...)``; they flush, never commit."""

from __future__ import annotations


class OperationError(Exception):
    """A refused operation, with a message for the user in Vietnamese and an HTTP status."""

    status = 400

    def __init__(self, message: str, *, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAllowed(OperationError):
    status = 403


class Conflict(OperationError):
    """The object changed since the user loaded it (optimistic locking)."""

    status = 409


class Invalid(OperationError):
    status = 422

    def __init__(self, message: str, *, errors=None, needs_confirmation: bool = False):
        super().__init__(message, errors=errors)
        self.needs_confirmation = needs_confirmation


STALE_MESSAGE = "Hồ sơ đã được người khác xử lý, vui lòng tải lại trang."
