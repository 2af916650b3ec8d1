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

MODEL_FIELDS = [
    SelectChoice("", "— Không —"),
    SelectChoice("Kinh tế"),
    SelectChoice("Văn hóa – xã hội"),
    SelectChoice("Quốc phòng – an ninh"),
    SelectChoice("Xây dựng Đảng và hệ thống chính trị"),
]


class EntryForm(BaseForm):
    version = HiddenField()
    form_token = HiddenField()
    content_item_id = SelectField(
        "Nội dung", coerce=int, validators=[DataRequired("Vui lòng chọn.")]
    )
    title = StringField(
        "Tên hoạt động",
        validators=[DataRequired("Vui lòng nhập tên hoạt động."), Length(max=500)],
    )
    date_from = VNDateField("Từ ngày", validators=[InputRequired("Vui lòng nhập ngày.")])
    date_to = VNDateField("Đến ngày", validators=[InputRequired("Vui lòng nhập ngày.")])
    place = StringField("Địa điểm", validators=[Length(max=300)])
    activity_form = StringField(
        "Hình thức",
        validators=[Length(max=200)],
        description="Ví dụ: hội nghị, tuyên truyền trên website, thăm hỏi, tặng quà…",
    )
    observance_id = SelectField("Hưởng ứng ngày kỷ niệm", coerce=int, validators=[Optional()])
    participants_officials = VNIntegerField("Cán bộ, đảng viên tham gia", maximum=10**7)
    participants_citizens = VNIntegerField("Người dân tham gia", maximum=10**7)
    amount_vnd = VNIntegerField("Kinh phí, quà (đồng)")
    gifts = TextAreaField("Quà tặng, hiện vật", validators=[Length(max=2000)])
    result = TextAreaField("Kết quả", validators=[Length(max=20000)])
    model_name = StringField("Tên mô hình “Dân vận khéo”", validators=[Length(max=300)])
    model_field = SelectField("Lĩnh vực", choices=MODEL_FIELDS, validators=[Optional()])
    model_description = TextAreaField(
        "Thực trạng, nội dung, cách thức và kết quả của mô hình", validators=[Length(max=20000)]
    )
    confirm_outside = BooleanField("Tôi xác nhận thời gian hoạt động nằm ngoài thời gian kế hoạch")

    def fill_choices(self, campaign) -> None:
        self.content_item_id.choices = [
            SelectChoice(item.id, f"{item.position}. {item.title}")
            for item in campaign.content_items
        ]
        self.observance_id.choices = [SelectChoice(0, "— Không —")] + [
            SelectChoice(o.id, o.display_name) for o in campaign.observances
        ]

    def entry_fields(self) -> dict:
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
