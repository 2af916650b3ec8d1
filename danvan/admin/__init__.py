"""Quản trị: the agency, its units, user accounts and the administration log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")

from danvan.admin import jobs_views, views  # noqa: E402,F401
