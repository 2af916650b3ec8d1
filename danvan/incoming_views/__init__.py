"""The sổ văn bản đến: edXML packages received, verified and answered; receipts read."""

from flask import Blueprint

bp = Blueprint("incoming", __name__, url_prefix="/van-ban-den")

from danvan.incoming_views import views  # noqa: E402,F401
