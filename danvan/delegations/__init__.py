"""Ủy quyền: heads let someone act for them for a few days."""

from flask import Blueprint

bp = Blueprint("delegations", __name__, url_prefix="/uy-quyen")

from danvan.delegations import views  # noqa: E402,F401
