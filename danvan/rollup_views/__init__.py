"""Ban Dân vận's roll-up pages: which Sở have reported, and their figures summed."""

from flask import Blueprint

bp = Blueprint("rollup", __name__, url_prefix="/tong-hop")

from danvan.rollup_views import views  # noqa: E402,F401
