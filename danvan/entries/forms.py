from datetime import date

from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from danvan.fields import VNDateField, VNIntegerField
from danvan.forms import BaseForm
from danvan.models import ENTRY_FIELDS
from danvan.text import format_date, format_number, today_vn

MODEL_FIELDS = [
    SelectChoice("", "— Không —"),
    SelectChoice("Kinh tế"),
    SelectChoice("Văn hóa – xã hội"),
    SelectChoice("Quốc phòng – an ninh"),
    SelectChoice("Xây dựng Đảng và hệ thống chính trị"),
]
MAX_PEOPLE = 10**7


def example_day(campaign) -> date:
    """A date to quote in hints: 15/10 (Ngày Dân vận) of the campaign's year, if in its period."""
    if campaign is None:
        return today_vn().replace(month=10, day=15)
    day = date(campaign.year, 10, 15)
    return day if campaign.contains(day) else campaign.period_start


class ExampleDateField(VNDateField):
    """A dd/mm/yyyy date whose error message quotes a date of the campaign's year."""

    example = ""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(
                f"Ngày không hợp lệ, hãy nhập theo dạng dd/mm/yyyy (ví dụ {self.example})."
            ) from exc


class ExampleIntegerField(VNIntegerField):
    """A whole number whose messages quote an example that fits the field (120, 1.234.500)."""

    def __init__(self, label, *, example: str, range_message: str, **kwargs):
        super().__init__(label, **kwargs)
        self.example, self.range_message = example, range_message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            if str(exc).startswith("Vui lòng nhập số nguyên"):
                raise ValueError(f"Vui lòng nhập số nguyên, ví dụ {self.example}.") from exc
            raise ValueError(self.range_message) from exc


def _people(name: str) -> ExampleIntegerField:
    return ExampleIntegerField(
        ENTRY_FIELDS[name],
        maximum=MAX_PEOPLE,
        example="120",
        range_message=f"Số người phải từ 0 đến {format_number(MAX_PEOPLE)}.",
        description="Số người, ví dụ 120. Để trống nếu không có.",
    )


class EntryForm(BaseForm):
    """The new/edit form of an activity entry; labels are ``ENTRY_FIELDS``'."""

    version = HiddenField()
    # Fingerprints of the values the form was rendered with (see danvan/entries/conflict.py).
    original = HiddenField(validators=[Length(max=4000)])
    form_token = HiddenField(validators=[Length(max=64)])  # the column's size
    content_item_id = SelectField(
        ENTRY_FIELDS["content_item_id"],
        coerce=int,
        validators=[DataRequired("Vui lòng chọn nội dung của kế hoạch.")],
    )
    title = StringField(
        ENTRY_FIELDS["title"],
        validators=[DataRequired("Vui lòng nhập tên hoạt động."), Length(max=500)],
    )
    date_from = ExampleDateField(
        ENTRY_FIELDS["date_from"], validators=[InputRequired("Vui lòng nhập ngày bắt đầu.")]
    )
    date_to = ExampleDateField(
        ENTRY_FIELDS["date_to"], validators=[InputRequired("Vui lòng nhập ngày kết thúc.")]
    )
    place = StringField(ENTRY_FIELDS["place"], validators=[Length(max=300)])
    activity_form = StringField(
        ENTRY_FIELDS["activity_form"],
        validators=[Length(max=200)],
        description="Ví dụ: hội nghị, tuyên truyền trên website, thăm hỏi, tặng quà…",
    )
    observance_id = SelectField(ENTRY_FIELDS["observance_id"], coerce=int, validators=[Optional()])
    participants_officials = _people("participants_officials")
    participants_citizens = _people("participants_citizens")
    amount_vnd = ExampleIntegerField(
        ENTRY_FIELDS["amount_vnd"],
        example="1.234.500",
        range_message="Số tiền không hợp lệ: nhập số đồng từ 0 trở lên, ví dụ 1.234.500.",
        description="Số tiền bằng đồng, ví dụ 1.234.500 hoặc 1.234.500 đồng.",
    )
    gifts = TextAreaField(
        ENTRY_FIELDS["gifts"],
        validators=[Length(max=2000)],
        description="Ví dụ: 50 suất quà (gạo, dầu ăn), 20 chăn ấm.",
    )
    result = TextAreaField(ENTRY_FIELDS["result"], validators=[Length(max=20000)])
    model_name = StringField(ENTRY_FIELDS["model_name"], validators=[Length(max=300)])
    model_field = SelectField(
        ENTRY_FIELDS["model_field"], choices=MODEL_FIELDS, validators=[Optional()]
    )
    model_description = TextAreaField(
        ENTRY_FIELDS["model_description"], validators=[Length(max=20000)]
    )
    confirm_outside = BooleanField("Tôi xác nhận thời gian hoạt động nằm ngoài thời gian kế hoạch")

    REQUIRED = ("content_item_id", "title", "date_from", "date_to")

    def __init__(self, *args, campaign=None, **kwargs):
        self._campaign = campaign  # read by process(), which the base __init__ calls
        super().__init__(*args, **kwargs)
        if campaign is not None:
            self.fill_choices(campaign, kwargs.get("obj"))

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        """Quote a date of the campaign's year before the submitted dates are parsed."""
        example = format_date(example_day(self._campaign))
        for field in (self.date_from, self.date_to):
            field.example = example
            field.description = f"Dạng ngày/tháng/năm, ví dụ {example}."
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)

    def fill_choices(self, campaign, entry=None) -> None:
        """The campaign's content items and observances as choices: archived ones only for
        the entry that already refers to them."""
        keep_item = getattr(entry, "content_item_id", None)
        keep_observance = getattr(entry, "observance_id", None)
        self.content_item_id.choices = [
            SelectChoice(item.id, f"{item.position}. {item.title}")
            for item in campaign.content_items
            if not item.archived or item.id == keep_item
        ]
        self.observance_id.choices = [SelectChoice(0, "— Không —")] + [
            SelectChoice(o.id, o.display_name)
            for o in campaign.observances
            if not o.archived or o.id == keep_observance
        ]

    def char_limit(self, field) -> int | None:
        """The longest text a field takes (its Length validator), for the hint and counter."""
        for validator in field.validators:
            if isinstance(validator, Length) and validator.max and validator.max > 0:
                return validator.max
        return None

    def is_required(self, field) -> bool:
        """Whether the field is marked required on the form."""
        return field.name in self.REQUIRED

    def entry_fields(self) -> dict:
        """The submitted values as the operations take them."""
        return {
            "content_item_id": self.content_item_id.data,
            "title": self.title.data,
            "date_from": self.date_from.data,
            "date_to": self.date_to.data,
            "place": self.place.data or "",
            "activity_form": self.activity_form.data or "",
            "observance_id": self.observance_id.data or None,
            "participants_officials": self.participants_officials.data or 0,
            "participants_citizens": self.participants_citizens.data or 0,
            "amount_vnd": self.amount_vnd.data,
            "gifts": self.gifts.data or "",
            "result": self.result.data or "",
            "model_name": self.model_name.data or None,
            "model_field": self.model_field.data or None,
            "model_description": self.model_description.data or None,
        }


class ActionForm(BaseForm):
    version = HiddenField()
    comment = TextAreaField("Ý kiến", validators=[Length(max=5000)])


class BulkActionForm(BaseForm):
    pass


class EmptyForm(BaseForm):
    pass
