"""Sign in, sign out, change password."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from danvan.auth import password_change, views  # noqa: E402,F401
