"""The report: compile, edit, preview, submit, sign, issue."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from danvan.reports import views  # noqa: E402,F401
