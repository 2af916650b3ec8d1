"""Form base: text is cleaned (NFC, no control characters) and every message is Vietnamese."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import TextAreaField

from danvan.text import clean_line, clean_text

# The largest id a path, query parameter or form may name: PostgreSQL's ``integer``.
ID_MAX = 2**31 - 1

# WTForms and Flask-WTF ship no Vietnamese catalogue: their message ids, translated. Vietnamese
# has no plural forms, so singular and plural ids share a translation.
# tests/test_bad_input.py fails when a message id of the installed versions is missing here.
MESSAGES_VI = {
    "Invalid field name '%s'.": "Tên trường không hợp lệ: '%s'.",
    "Field must be equal to %(other_name)s.": "Giá trị phải trùng với trường “%(other_name)s”.",
    "Field must be at least %(min)d character long.": "Phải có ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Phải có ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự.",
    "Field must be exactly %(max)d character long.": "Phải có đúng %(max)d ký tự.",
    "Field must be exactly %(max)d characters long.": "Phải có đúng %(max)d ký tự.",
    "Field must be between %(min)d and %(max)d characters long.": (
        "Phải có từ %(min)d đến %(max)d ký tự."
    ),
    "Number must be at least %(min)s.": "Số phải lớn hơn hoặc bằng %(min)s.",
    "Number must be at most %(max)s.": "Số phải nhỏ hơn hoặc bằng %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải nằm trong khoảng %(min)s đến %(max)s.",
    "Date must be at least %(min)s.": "Ngày không được trước %(min)s.",
    "Date must be at most %(max)s.": "Ngày không được sau %(max)s.",
    "Date must be between %(min)s and %(max)s.": "Ngày phải nằm trong khoảng %(min)s đến %(max)s.",
    "This field is required.": "Vui lòng nhập thông tin này.",
    "Invalid input.": "Giá trị không hợp lệ.",
    "Invalid email address.": "Địa chỉ thư điện tử không hợp lệ.",
    "Invalid IP address.": "Địa chỉ IP không hợp lệ.",
    "Invalid Mac address.": "Địa chỉ MAC không hợp lệ.",
    "Invalid URL.": "Địa chỉ URL không hợp lệ.",
    "Invalid UUID.": "Mã UUID không hợp lệ.",
    "Invalid value, must be one of: %(values)s.": "Giá trị chỉ được là: %(values)s.",
    "Invalid value, can't be any of: %(values)s.": "Giá trị không được là: %(values)s.",
    "This field cannot be edited.": "Không được sửa thông tin này.",
    "This field is disabled and cannot have a value.": "Thông tin này đã bị khóa, không được nhập.",
    "Invalid CSRF Token.": "Mã bảo mật CSRF không hợp lệ, vui lòng tải lại trang.",
    "CSRF token missing.": "Thiếu mã bảo mật CSRF, vui lòng tải lại trang.",
    "CSRF failed.": "Kiểm tra mã bảo mật CSRF không thành công, vui lòng tải lại trang.",
    "CSRF token expired.": "Mã bảo mật CSRF đã hết hạn, vui lòng tải lại trang.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "Choices cannot be None.": "Chưa có danh sách lựa chọn.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Invalid choice(s): one or more data inputs could not be coerced.": (
        "Lựa chọn không hợp lệ: có giá trị không đọc được."
    ),
    "'%(value)s' is not a valid choice for this field.": "Không có lựa chọn '%(value)s'.",
    "'%(value)s' are not valid choices for this field.": "Không có các lựa chọn '%(value)s'.",
    "Not a valid datetime value.": "Ngày giờ không hợp lệ.",
    "Not a valid date value.": "Ngày không hợp lệ, hãy nhập theo dạng dd/mm/yyyy.",
    "Not a valid time value.": "Giờ không hợp lệ.",
    "Not a valid week value.": "Tuần không hợp lệ.",
    "Not a valid integer value.": "Vui lòng nhập số nguyên.",
    "Not a valid decimal value.": "Vui lòng nhập số thập phân.",
    "Not a valid float value.": "Vui lòng nhập số.",
    # Flask-WTF's file validators.
    "File does not have an approved extension: {extensions}": (
        "Loại tệp không được chấp nhận; chỉ nhận: {extensions}"
    ),
    "File does not have an approved extension.": "Loại tệp không được chấp nhận.",
}
# Flask-WTF formats this one before translating it.
_FILE_SIZE = re.compile(r"File must be between (\d+) and (\d+) bytes\.")


class VietnameseTranslations:
    """The gettext interface WTForms asks its messages from, answering in Vietnamese."""

    def gettext(self, string: str) -> str:
        """The Vietnamese message for a WTForms message id; other text (labels) unchanged."""
        if string in MESSAGES_VI:
            return MESSAGES_VI[string]
        size = _FILE_SIZE.fullmatch(string)
        if size:
            return f"Tệp phải có dung lượng từ {size[1]} đến {size[2]} byte."
        return string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Vietnamese has one form for every number."""
        return self.gettext(singular if n == 1 else plural)


TRANSLATIONS = VietnameseTranslations()


def coerce_id(value) -> int:
    """Coerce a submitted id for a SelectField: 1 … ID_MAX, ValueError otherwise."""
    number = int(value)
    if not 1 <= number <= ID_MAX:
        raise ValueError("id out of range")
    return number


def _text_filter(clean):
    return lambda value: clean(value) if isinstance(value, str) else value


_CLEAN_TEXT, _CLEAN_LINE = _text_filter(clean_text), _text_filter(clean_line)


class BaseForm(FlaskForm):
    """A FlaskForm (CSRF on) whose text input is cleaned and whose messages are Vietnamese."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            # Every field, not only StringFields: a SelectField's submitted str is cleaned too
            # (the filter leaves non-str data alone). Multi-line text keeps its newlines.
            filters = list(unbound_field.kwargs.get("filters", []))
            multiline = issubclass(unbound_field.field_class, TextAreaField)
            filters.insert(0, _CLEAN_TEXT if multiline else _CLEAN_LINE)
            return unbound_field.bind(form=form, filters=filters, **options)

        def get_translations(self, form):
            return TRANSLATIONS
