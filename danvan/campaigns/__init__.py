"""Plans (Kế hoạch): the home page and each campaign's overview."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from danvan.campaigns import views  # noqa: E402,F401
