"""Activity entries: the form, the page with history, evidence files, workflow actions."""

from flask import Blueprint

bp = Blueprint("entries", __name__)

from danvan.entries import views  # noqa: E402,F401
