"""Quản trị kế hoạch: campaigns, their content items, observances and approval chain."""

from flask import Blueprint

bp = Blueprint("campaign_admin", __name__, url_prefix="/quan-tri/ke-hoach")

from danvan.campaign_admin import views  # noqa: E402,F401
