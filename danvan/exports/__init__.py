"""Exports: the campaign's entries and per-unit statistics as .xlsx and .csv."""

from flask import Blueprint

bp = Blueprint("exports", __name__)

from danvan.exports import views  # noqa: E402,F401
