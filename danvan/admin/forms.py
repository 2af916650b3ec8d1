"""Forms of the administration pages; the rules themselves live in danvan/operations/admin.py."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from danvan.fields import VNIntegerField
from danvan.forms import ID_MAX, BaseForm
from danvan.models import Role
from danvan.passwords import MIN_LENGTH


def coerce_optional_id(value) -> int:
    """0 stands for "none"; anything else must be an id (1 … 2**31-1)."""
    number = int(value)
    if not 0 <= number <= ID_MAX:
        raise ValueError("id out of range")
    return number


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (roles)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AgencyForm(BaseForm):
    name = StringField(
        "Tên cơ quan (in hoa)",
        validators=[DataRequired("Vui lòng nhập tên cơ quan."), Length(max=200)],
        description="Dòng tên cơ quan ở đầu văn bản, ví dụ SỞ XÂY DỰNG.",
    )
    full_name = StringField(
        "Tên đầy đủ",
        validators=[DataRequired("Vui lòng nhập tên đầy đủ."), Length(max=200)],
        description="Ví dụ: Sở Xây dựng tỉnh Hà Nam.",
    )
    parent_name = StringField(
        "Cơ quan chủ quản",
        validators=[DataRequired("Vui lòng nhập cơ quan chủ quản."), Length(max=200)],
        description="Dòng trên tên cơ quan, ví dụ UBND TỈNH HÀ NAM.",
    )
    abbreviation = StringField(
        "Ký hiệu cơ quan",
        validators=[DataRequired("Vui lòng nhập ký hiệu cơ quan."), Length(max=20)],
        description="Dùng trong số, ký hiệu văn bản, ví dụ SXD (01/BC-SXD).",
    )
    place_name = StringField(
        "Địa danh",
        validators=[DataRequired("Vui lòng nhập địa danh."), Length(max=100)],
        description="Dùng ở dòng ngày tháng, ví dụ Hà Nam (Hà Nam, ngày 03 tháng 11 năm 2023).",
    )
    organ_id = StringField(
        "Mã định danh điện tử",
        validators=[Length(max=30)],
        description="Theo QCVN 102:2016, ví dụ 000.00.31.H23. Để trống nếu chưa có.",
    )
    default_signer_id = SelectField(
        "Người ký mặc định",
        coerce=coerce_optional_id,
        validators=[Optional()],
        description="Giám đốc hoặc Phó Giám đốc được đề xuất ký báo cáo khi trình ký.",
    )

    def fill_choices(self, signers) -> None:
        """The active Giám đốc and Phó Giám đốc."""
        self.default_signer_id.choices = [SelectChoice(0, "— Chưa chọn —")] + [
            SelectChoice(u.id, f"{u.full_name} – {u.position_title or u.role_labels}")
            for u in signers
        ]

    def agency_fields(self) -> dict:
        """The submitted values as update_agency takes them."""
        return {
            "name": self.name.data,
            "full_name": self.full_name.data,
            "parent_name": self.parent_name.data,
            "abbreviation": self.abbreviation.data,
            "place_name": self.place_name.data,
            "organ_id": self.organ_id.data,
            "default_signer_id": self.default_signer_id.data or None,
        }


class UnitForm(BaseForm):
    name = StringField(
        "Tên đơn vị",
        validators=[DataRequired("Vui lòng nhập tên đơn vị."), Length(max=200)],
        description="Ví dụ: Phòng Quản lý xây dựng.",
    )
    abbreviation = StringField(
        "Ký hiệu",
        validators=[DataRequired("Vui lòng nhập ký hiệu đơn vị."), Length(max=20)],
        description="Viết tắt, ví dụ QLXD.",
    )
    position = VNIntegerField(
        "Thứ tự hiển thị",
        minimum=0,
        maximum=9999,
        description="Số nhỏ đứng trước trong danh sách và báo cáo. Để trống: xếp cuối.",
    )
    is_office = BooleanField("Là Văn phòng Sở (đơn vị tổng hợp báo cáo)")
    active = BooleanField("Đang hoạt động", default=True)

    def unit_fields(self) -> dict:
        """The submitted values as create_unit / update_unit take them."""
        return {
            "name": self.name.data,
            "abbreviation": self.abbreviation.data,
            "position": self.position.data,
            "is_office": self.is_office.data,
            "active": self.active.data,
        }


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class _UserFields(BaseForm):
    full_name = StringField(
        "Họ và tên", validators=[DataRequired("Vui lòng nhập họ tên."), Length(max=120)]
    )
    email = StringField(
        "Thư điện tử",
        validators=[Length(max=200)],
        description="Nhận thư thông báo, ví dụ nguyenvana@hanam.gov.vn.",
    )
    position_title = StringField(
        "Chức vụ",
        validators=[Length(max=120)],
        description="Như ghi trên văn bản, ví dụ Trưởng phòng, Phó Giám đốc.",
    )
    unit_id = SelectField("Đơn vị", coerce=coerce_optional_id, validators=[Optional()])
    roles = MultiCheckboxField("Vai trò", choices=ROLE_CHOICES)

    def fill_choices(self, units) -> None:
        """The agency's units (inactive ones marked)."""
        self.unit_id.choices = [SelectChoice(0, "— Không thuộc đơn vị —")] + [
            SelectChoice(u.id, u.name if u.active else f"{u.name} (ngừng hoạt động)") for u in units
        ]

    def profile_fields(self) -> dict:
        """The submitted profile values as the operations take them."""
        return {
            "full_name": self.full_name.data,
            "email": self.email.data,
            "position_title": self.position_title.data,
        }


class UserCreateForm(_UserFields):
    username = StringField(
        "Tên đăng nhập",
        validators=[DataRequired("Vui lòng nhập tên đăng nhập."), Length(max=80)],
        description="Chữ thường, không khoảng trắng, ví dụ nguyen.van.a. Không đổi được sau này.",
    )
    password = PasswordField(
        "Mật khẩu ban đầu",
        validators=[Length(max=128)],
        description=(
            "Để trống để hệ thống tạo mật khẩu tạm thời (hiện một lần). Nếu tự nhập: ít nhất "
            f"{MIN_LENGTH} ký tự. Người dùng phải đổi mật khẩu ở lần đăng nhập đầu tiên."
        ),
    )

    field_order = ("username", "full_name", "email", "position_title", "unit_id", "roles")


class UserEditForm(_UserFields):
    active = BooleanField("Đang hoạt động")


class EmptyForm(BaseForm):
    pass
