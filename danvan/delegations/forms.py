"""The delegation form; the rules live in danvan/operations/delegations.py."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired

from danvan.admin.forms import coerce_optional_id
from danvan.fields import VNDateField
from danvan.forms import BaseForm


def _person(user) -> str:
    where = user.unit.name if user.unit else "—"
    return f"{user.full_name} – {user.position_title or user.role_labels} ({where})"


class DelegationForm(BaseForm):
    principal_id = SelectField(
        "Người ủy quyền",
        coerce=coerce_optional_id,
        validators=[DataRequired("Vui lòng chọn người ủy quyền.")],
        description="Quản trị hệ thống lập ủy quyền thay cho người này; nhật ký ghi lại việc đó.",
    )
    delegate_id = SelectField(
        "Người được ủy quyền",
        coerce=coerce_optional_id,
        validators=[DataRequired("Vui lòng chọn người được ủy quyền.")],
        description="Người này làm thay mọi việc của người ủy quyền trong thời gian ủy quyền.",
    )
    starts_on = VNDateField(
        "Từ ngày",
        validators=[InputRequired("Vui lòng nhập ngày bắt đầu.")],
        description="Dạng ngày/tháng/năm (dd/mm/yyyy); hiệu lực từ 00:00.",
    )
    ends_on = VNDateField(
        "Đến ngày",
        validators=[InputRequired("Vui lòng nhập ngày kết thúc.")],
        description="Hết hiệu lực khi hết ngày này (24:00).",
    )

    def fill_choices(self, principals, delegates) -> None:
        """The people one may delegate for (None: only oneself) and to."""
        if principals is None:
            del self.principal_id
        else:
            self.principal_id.choices = [SelectChoice(0, "— Chọn người ủy quyền —")] + [
                SelectChoice(u.id, _person(u)) for u in principals
            ]
        self.delegate_id.choices = [SelectChoice(0, "— Chọn người được ủy quyền —")] + [
            SelectChoice(u.id, _person(u)) for u in delegates
        ]


class EmptyForm(BaseForm):
    pass
