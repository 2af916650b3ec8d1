"""The archive (Lưu trữ), the verification page and the outgoing register."""

from flask import Blueprint

bp = Blueprint("archive", __name__)

from danvan.archive import views  # noqa: E402,F401
