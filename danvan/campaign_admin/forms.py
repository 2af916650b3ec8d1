"""Forms of the campaign administration; the rules live in danvan/operations/campaigns.py."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from danvan.admin.forms import coerce_optional_id
from danvan.fields import VNDateField, VNIntegerField
from danvan.forms import BaseForm
from danvan.models import Role, User
from danvan.operations.campaigns import RESUME_POLICIES
from danvan.workflow import MAX_CHAIN_STEPS, STEP_KINDS, ChainStep, Scope, StepKind

EXAMPLE_TITLE = "Tổ chức các hoạt động “Tháng cao điểm” thực hiện công tác dân vận năm 2024"


def _date(label: str, message: str | None = None, description: str = "") -> VNDateField:
    validators = [InputRequired(message)] if message else [Optional()]
    return VNDateField(label, validators=validators, description=description)


class CampaignForm(BaseForm):
    title = StringField(
        "Tên kế hoạch",
        validators=[DataRequired("Vui lòng nhập tên kế hoạch."), Length(max=500)],
        description=f"Ví dụ: {EXAMPLE_TITLE}.",
    )
    plan_number = StringField(
        "Số, ký hiệu kế hoạch",
        validators=[Length(max=50)],
        description="Ví dụ 125/KH-SXD. Để trống khi kế hoạch chưa ban hành.",
    )
    plan_date = _date("Ngày ban hành", description="Dạng ngày/tháng/năm, ví dụ 27/09/2024.")
    period_start = _date(
        "Thực hiện từ ngày",
        "Vui lòng nhập ngày bắt đầu thực hiện.",
        "Ví dụ 01/10/2024. Năm của kế hoạch là năm của ngày này.",
    )
    period_end = _date(
        "Thực hiện đến ngày", "Vui lòng nhập ngày kết thúc thực hiện.", "Ví dụ 31/10/2024."
    )
    report_deadline = _date(
        "Hạn gửi báo cáo",
        "Vui lòng nhập hạn gửi báo cáo.",
        "Ngày các đơn vị phải gửi báo cáo kết quả, thường sau ngày kết thúc, ví dụ 05/11/2024.",
    )
    report_recipient = StringField(
        "Cơ quan nhận báo cáo",
        validators=[DataRequired("Vui lòng nhập cơ quan nhận báo cáo."), Length(max=200)],
        description="Ví dụ: Ban Tuyên giáo và Dân vận Tỉnh ủy.",
    )
    report_subject = StringField(
        "Trích yếu báo cáo",
        validators=[DataRequired("Vui lòng nhập trích yếu báo cáo."), Length(max=500)],
        description="Tên báo cáo kết quả, ví dụ Kết quả triển khai Tháng cao điểm thực hiện "
        "công tác dân vận năm 2024.",
    )
    recipients = TextAreaField(
        "Nơi nhận",
        validators=[Length(max=5000)],
        description="Mỗi dòng một nơi nhận, in ở cuối báo cáo; dòng trống được bỏ qua.",
    )
    resume_policy = SelectField(
        "Khi gửi duyệt lại hồ sơ bị trả lại",
        choices=[SelectChoice(k, v) for k, v in RESUME_POLICIES.items()],
        validators=[DataRequired()],
    )
    evidence_required = BooleanField("Bắt buộc đính kèm minh chứng khi gửi duyệt")

    def campaign_fields(self) -> dict:
        """The submitted values as create_campaign / update_campaign take them."""
        return {name: self[name].data for name in self._fields if name != "csrf_token"}


class ContentItemForm(BaseForm):
    title = StringField(
        "Tên nội dung",
        validators=[DataRequired("Vui lòng nhập tên nội dung."), Length(max=500)],
        description="Ví dụ: Tuyên truyền kỷ niệm Ngày truyền thống công tác dân vận.",
    )


class ObservanceForm(BaseForm):
    day = _date("Ngày", "Vui lòng nhập ngày kỷ niệm.", "Dạng ngày/tháng/năm, ví dụ 15/10/2024.")
    name = StringField(
        "Tên ngày kỷ niệm",
        validators=[DataRequired("Vui lòng nhập tên ngày kỷ niệm."), Length(max=300)],
        description="Ví dụ: Ngày truyền thống công tác dân vận của Đảng.",
    )
    founding_year = VNIntegerField(
        "Năm khởi đầu",
        minimum=1,
        maximum=9999,
        description="Để tính số năm kỷ niệm, ví dụ 1930 → “(94 năm)” vào năm 2024. Để trống "
        "nếu không tính.",
    )

    def observance_fields(self) -> dict:
        """The submitted values as add_observance / update_observance take them."""
        return {
            "day": self.day.data,
            "name": self.name.data,
            "founding_year": self.founding_year.data,
        }


NAMED_KINDS = frozenset(k.value for k, spec in STEP_KINDS.items() if spec.scope == Scope.NAMED)
# Each option carries its help text and whether it names a person (static/js/chain-editor.js).
KIND_CHOICES = [
    SelectChoice(
        kind.value,
        spec.label,
        render_kw={"data-help": spec.help, "data-named": "1" if kind in NAMED_KINDS else "0"},
    )
    for kind, spec in STEP_KINDS.items()
]


class StepForm(BaseForm):
    """One row of the chain editor: the kind of step and, for the named kinds, the person."""

    class Meta:
        csrf = False  # the chain form carries the token

    kind = SelectField("Loại bước", choices=KIND_CHOICES)
    user_id = SelectField(
        "Người duyệt",
        coerce=coerce_optional_id,
        validators=[Optional()],
        description="Chỉ dùng cho bước Phó Giám đốc phụ trách hoặc Người được chỉ định.",
    )

    def step(self) -> ChainStep:
        """The row as a step (a person only for the named kinds)."""
        kind = StepKind(self.kind.data)
        named = kind.value in NAMED_KINDS
        return ChainStep(kind, (self.user_id.data or None) if named else None)


class ChainForm(BaseForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            # The list of rows and each row take no text filters (the rows' fields get them).
            if issubclass(unbound_field.field_class, FieldList | FormField):
                return unbound_field.bind(form=form, **options)
            return super().bind_field(form, unbound_field, options)

    # One more row than a chain may have, so that a chain too long is refused in words.
    steps = FieldList(FormField(StepForm), max_entries=MAX_CHAIN_STEPS + 1)

    def fill_choices(self, users: list[User]) -> None:
        """Every row offers the given users: Phó Giám đốc first (the deputy step's choice)."""
        choices = [SelectChoice(0, "— Chọn người duyệt —")]
        for user in users:
            deputy = user.has_role(Role.DEPUTY_DIRECTOR)
            name = f"{user.full_name} – {user.position_title or user.role_labels}"
            if not user.active:
                name += " (ngừng hoạt động)"
            choices.append(
                SelectChoice(
                    user.id,
                    name,
                    render_kw={"data-deputy": "1"} if deputy else {},
                    optgroup="Phó Giám đốc" if deputy else "Người dùng khác",
                )
            )
        for row in self.steps:
            row.form.user_id.choices = choices

    def chain_steps(self) -> list[ChainStep]:
        """The rows as steps, in order."""
        return [row.form.step() for row in self.steps]


def step_rows(steps: list[ChainStep]) -> dict:
    """Data for a ChainForm showing these steps."""
    return {"steps": [{"kind": s.kind.value, "user_id": s.user_id or 0} for s in steps]}


class EmptyForm(BaseForm):
    pass
