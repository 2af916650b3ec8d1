"""Forms of the plan import pages: the plan's file or pasted text, then the text to confirm."""

from __future__ import annotations

import os

from flask_wtf.file import FileField
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from danvan.forms import BaseForm
from danvan.plans.extract import PlanTextError, extract_text, normalize_text
from danvan.text import format_number
from danvan.uploads import KINDS, detect_kind, safe_filename

MAX_PLAN_BYTES = 10 * 1024 * 1024  # a plan's file; the evidence limit (20 MB) is for photos
MAX_PLAN_CHARS = 100_000  # a plan runs to a few pages, some 20 000 characters
ACCEPT_ATTR = ".docx,.pdf,.md,.markdown,.txt"
# What each accepted extension must contain (``detect_kind``): text files have no signature.
EXPECTED_KIND = {".docx": "docx", ".pdf": "pdf", ".md": None, ".markdown": None, ".txt": None}
EXPECTED_LABEL = {"docx": "Word (.docx)", "pdf": "PDF", None: "văn bản thuần (.md, .txt)"}
TOO_LONG = (
    f"Văn bản dài quá {format_number(MAX_PLAN_CHARS)} ký tự, không giống một kế hoạch; "
    "hãy kiểm tra lại tệp hoặc nội dung đã dán."
)


def read_plan_file(filename: str, data: bytes) -> str:
    """The text of an uploaded plan; PlanTextError (Vietnamese) when its content is not what
    its name says, e.g. a photo renamed ``.docx``."""
    name = safe_filename(filename)
    suffix = os.path.splitext(name)[1].lower()
    if len(data) > MAX_PLAN_BYTES:
        raise PlanTextError(f"Tệp “{name}” lớn hơn 10 MB, quá dung lượng cho phép của kế hoạch.")
    if suffix == ".doc":
        raise PlanTextError(
            f"Chưa đọc được tệp Word cũ “{name}” (.doc); hãy lưu lại thành .docx hoặc xuất ra PDF."
        )
    if suffix not in EXPECTED_KIND:
        raise PlanTextError(
            f"Tệp “{name}” không phải tệp .docx, .pdf, .md hoặc .txt; hãy lưu kế hoạch thành "
            ".docx hoặc PDF, hoặc dán nội dung vào ô bên dưới."
        )
    kind, expected = (detect_kind(data) if data else None), EXPECTED_KIND[suffix]
    if kind == "macro":
        raise PlanTextError(f"Tệp “{name}” chứa macro nên không được chấp nhận.")
    if kind is not None and kind != expected:
        raise PlanTextError(
            f"Tên tệp “{name}” không khớp với nội dung thật: tệp là {KINDS[kind].label}, không "
            f"phải {EXPECTED_LABEL[expected]}. Hãy chọn đúng tệp kế hoạch hoặc dán nội dung."
        )
    return extract_text(name, data)


class PlanUploadForm(BaseForm):
    """Page 1: a file, or the plan's text pasted."""

    file = FileField(
        "Tệp kế hoạch",
        description="Tệp Word (.docx), PDF có lớp chữ (không phải bản quét), hoặc .md, .txt; "
        "tối đa 10 MB.",
    )
    text = TextAreaField(
        "Hoặc dán nội dung kế hoạch",
        validators=[Length(max=MAX_PLAN_CHARS, message=TOO_LONG)],
        description="Dán toàn bộ văn bản, từ dòng “Số: …/KH-…” đến phần “Nơi nhận”.",
    )

    plan_text: str = ""  # set by ``validate``: the text to parse
    source: str = ""  # the uploaded file's name; "" for pasted text

    def validate(self, extra_validators=None) -> bool:
        """Valid when exactly one of file and text is given and its text can be read."""
        if not super().validate(extra_validators):
            return False
        storage = self.file.data
        has_file = bool(storage and storage.filename)
        pasted = (self.text.data or "").strip()
        if has_file and pasted:
            self.file.errors.append(
                "Hãy chọn tệp hoặc dán nội dung, không dùng cả hai: bỏ tệp đã chọn hoặc xóa nội "
                "dung đã dán."
            )
            return False
        if not has_file and not pasted:
            self.file.errors.append("Hãy chọn tệp kế hoạch hoặc dán nội dung kế hoạch.")
            return False
        try:
            if has_file:
                self.source = safe_filename(storage.filename)
                text = read_plan_file(storage.filename, storage.read(MAX_PLAN_BYTES + 1))
            else:
                text = normalize_text(pasted)
        except PlanTextError as error:
            (self.file if has_file else self.text).errors.append(str(error))
            return False
        if len(text) > MAX_PLAN_CHARS:
            (self.file if has_file else self.text).errors.append(TOO_LONG)
            return False
        self.plan_text = text
        return True


class PlanConfirmForm(BaseForm):
    """Page 2: the text read on page 1, posted back and parsed again (never the parsed values)."""

    text = TextAreaField(
        "Văn bản đã đọc được",
        validators=[
            DataRequired("Không còn nội dung kế hoạch; hãy tải tệp hoặc dán nội dung lại."),
            Length(max=MAX_PLAN_CHARS, message=TOO_LONG),
        ],
    )
    source = HiddenField()  # the file's name, only to say where the text came from
