"""Blob storage: file contents stored once in the database, addressed by their SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from danvan.extensions import db
from danvan.models import Blob
from danvan.operations import Invalid
from danvan.text import clean_line, format_number, utcnow
from danvan.uploads import UploadRejected, sniff_upload


def store_blob(data: bytes) -> Blob:
    """Store bytes once, addressed by their SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    blob = db.session.get(Blob, sha)
    if blob is None and db.session.get_bind().dialect.name == "postgresql":
        # The same file stored at the same moment by two requests: one insert wins, both use it.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.session.execute(
            pg_insert(Blob)
            .values(sha256=sha, size=len(data), data=data, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["sha256"])
        )
        blob = db.session.get(Blob, sha)
    elif blob is None:
        blob = Blob(sha256=sha, size=len(data), data=data)
        db.session.add(blob)
        db.session.flush()
    return blob


@dataclass(frozen=True)
class StoredFile:
    """An evidence file checked and stored, not yet attached to an entry."""

    sha256: str
    filename: str
    content_type: str
    size: int


def store_upload(*, filename: str, data: bytes, max_bytes: int) -> StoredFile:
    """Check an uploaded file's size and real type, then store its bytes (content-addressed)."""
    if len(data) > max_bytes:
        raise Invalid(
            f"Tệp “{clean_line(filename)}” vượt quá dung lượng cho phép "
            f"({format_number(max_bytes / 1024 / 1024)} MB)."
        )
    try:
        kind = sniff_upload(filename, data)
    except UploadRejected as exc:
        raise Invalid(exc.message) from exc
    blob = store_blob(data)
    return StoredFile(blob.sha256, kind.safe_name, kind.content_type, len(data))
