"""The public face: an anonymous, read-only page per campaign and its Atom feed."""

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/cong-khai")

from danvan.public import views  # noqa: E402,F401
