"""Evidence chosen on a form before it is saved: files uploaded one by one, attached on save.

The upload widget (static/js/evidence.js) sends each file on its own request, with a progress
bar, to ``entries.stage_evidence``; the file is checked and stored (content-addressed blob) and
the browser gets a signed token naming it, which the form posts back as ``staged``. Without
JavaScript the files are posted with the form itself and staged the same way. Tokens are signed
with the app's secret and bound to the user, so a form cannot attach someone else's file.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from danvan.blobs import StoredFile, store_upload
from danvan.extensions import db
from danvan.models import Blob, User
from danvan.operations import Invalid
from danvan.text import format_number

SALT = "danvan.evidence.staged"
MAX_AGE = 2 * 24 * 3600  # seconds: a form left open over a weekend still saves its files
STALE_TOKEN = (
    "Một tệp đã chọn trước đó không còn dùng được (quá hạn hoặc không hợp lệ); "
    "vui lòng chọn lại tệp đó."
)


@dataclass(frozen=True)
class StagedFile:
    """A stored file waiting for its form to be saved, and the token the form carries."""

    stored: StoredFile
    token: str

    @property
    def size_text(self) -> str:
        """The size as people read it: 12,5 KB."""
        return size_text(self.stored.size)


def size_text(size: int) -> str:
    """A file size in KB or MB, Vietnamese decimals."""
    if size >= 1024 * 1024:
        return f"{format_number(round(size / 1024 / 1024, 1))} MB"
    return f"{format_number(max(0.1, round(size / 1024, 1)))} KB"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def sign(stored: StoredFile, user: User) -> StagedFile:
    """The token for a stored file, valid for this user only."""
    payload = [user.id, stored.sha256, stored.filename, stored.content_type, stored.size]
    return StagedFile(stored, _serializer().dumps(payload))


def load(tokens: list[str], user: User) -> tuple[list[StagedFile], list[str]]:
    """The staged files the tokens name (each once, stored blobs only); messages for the rest."""
    files, problems, seen = [], [], set()
    for token in tokens:
        try:
            user_id, sha, name, content_type, size = _serializer().loads(token, max_age=MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            problems.append(STALE_TOKEN)
            continue
        if user_id != user.id:
            problems.append(STALE_TOKEN)
            continue
        if (sha, name) not in seen:
            seen.add((sha, name))
            files.append(StagedFile(StoredFile(sha, name, content_type, size), token))
    shas = {f.stored.sha256 for f in files}
    if shas:
        present = set(db.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(shas))))
        if present != shas:
            problems.append(STALE_TOKEN)
            files = [f for f in files if f.stored.sha256 in present]
    return files, list(dict.fromkeys(problems))


def stage_uploads(storages, user: User) -> tuple[list[StagedFile], list[str]]:
    """Check and store files posted with a form (no JavaScript); refusals as messages.

    Commits the stored blobs at once, so the files survive if the form itself is refused and
    shown again.
    """
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    files, problems = [], []
    for storage in storages:
        if not storage or not storage.filename:
            continue
        try:
            stored = store_upload(
                filename=storage.filename, data=storage.read(limit + 1), max_bytes=limit
            )
        except Invalid as error:
            problems.append(error.message)
            continue
        files.append(sign(stored, user))
    if files:
        db.session.commit()
    return files, problems
