"""QR codes for printed documents (segno: pure Python, deterministic PNG output)."""

from __future__ import annotations

import io

import segno


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """A black-on-white QR code of ``text`` (error correction M, quiet zone of 2 modules)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
