"""danvan: activity reporting and approval for a Vietnamese provincial department."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str):
    # Lazy: ``from danvan import create_app`` (wsgi.py, the tests) loads Flask and the app's
    # modules on first use, so ``python -m danvan.agent`` (danvan-sign on the signer's PC)
    # starts without them.
    if name == "create_app":
        from danvan.factory import create_app

        return create_app
    raise AttributeError(f"module 'danvan' has no attribute {name!r}")
