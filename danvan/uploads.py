"""Evidence uploads: the real type is read from the content, never trusted from the name."""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass

from danvan.text import clean_line


class UploadRejected(Exception):
    """An upload refused, with the reason in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UploadKind:
    content_type: str
    label: str
    extensions: tuple[str, ...]
    safe_name: str = ""


KINDS = {
    "png": UploadKind("image/png", "ảnh PNG", (".png",)),
    "jpeg": UploadKind("image/jpeg", "ảnh JPEG", (".jpg", ".jpeg")),
    "gif": UploadKind("image/gif", "ảnh GIF", (".gif",)),
    "webp": UploadKind("image/webp", "ảnh WebP", (".webp",)),
    "pdf": UploadKind("application/pdf", "PDF", (".pdf",)),
    "docx": UploadKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word (.docx)",
        (".docx",),
    ),
    "xlsx": UploadKind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel (.xlsx)",
        (".xlsx",),
    ),
}
ALLOWED_TEXT = "ảnh (PNG, JPEG, GIF, WebP), PDF, Word (.docx), Excel (.xlsx)"
ACCEPT_ATTR = ".png,.jpg,.jpeg,.gif,.webp,.pdf,.docx,.xlsx"


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return "macro"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def detect_kind(data: bytes) -> str | None:
    """Name the file type from its first bytes (and, for Office files, its zip directory)."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


def safe_filename(filename: str) -> str:
    """A display name without paths or control characters, NFC, at most 200 characters."""
    name = clean_line(filename or "") or ""
    name = os.path.basename(name.replace("\\", "/"))
    name = re.sub(r'[<>:"/|?*]', "_", name).strip(" .")
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name or "tep-dinh-kem"


def sniff_upload(filename: str, data: bytes) -> UploadKind:
    """Accept an upload only if its content is an allowed type matching its extension."""
    name = safe_filename(filename)
    if not data:
        raise UploadRejected(f"Tệp “{name}” rỗng.")
    kind_name = detect_kind(data)
    if kind_name == "macro":
        raise UploadRejected(f"Tệp “{name}” chứa macro nên không được chấp nhận.")
    if kind_name is None:
        raise UploadRejected(
            f"Tệp “{name}” không phải định dạng được phép. Chỉ chấp nhận {ALLOWED_TEXT}."
        )
    kind = KINDS[kind_name]
    ext = os.path.splitext(name)[1].lower()
    if ext not in kind.extensions:
        raise UploadRejected(
            f"Tên tệp “{name}” không khớp với nội dung thật ({kind.label}). "
            "Vui lòng kiểm tra lại tệp."
        )
    return UploadKind(kind.content_type, kind.label, kind.extensions, safe_name=name)
