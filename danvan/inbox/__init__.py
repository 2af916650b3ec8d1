"""Each approver's inbox: what waits for them, with bulk approval."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from danvan.inbox import views  # noqa: E402,F401
