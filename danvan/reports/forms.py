from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from danvan.forms import BaseForm, coerce_id


class NarrativeForm(BaseForm):
    version = HiddenField()
    section_leadership = TextAreaField(
        "I. Công tác lãnh đạo, chỉ đạo, tuyên truyền", validators=[Length(max=50000)]
    )
    section_strengths = TextAreaField("III.1. Ưu điểm", validators=[Length(max=50000)])
    section_weaknesses = TextAreaField("III.2. Hạn chế", validators=[Length(max=50000)])
    section_proposals = TextAreaField("IV. Kiến nghị, đề xuất", validators=[Length(max=50000)])


class ReportActionForm(BaseForm):
    version = HiddenField()
    comment = TextAreaField("Ý kiến", validators=[Length(max=5000)])
    # Choices are filled only for display; the view looks the signer up (bounded id).
    signer_id = SelectField("Người ký", coerce=coerce_id, choices=[], validate_choice=False)
    # "Ký duyệt": the number the confirmation named; signing stops if another document took it.
    number = HiddenField()
    # "Trình ký" / "Ký duyệt" a document with NĐ 30 deviations: the user saw them and goes on.
    accept_deviations = BooleanField()


class CompileForm(BaseForm):
    version = HiddenField()  # the open report's version as the page showed it, 0 for none
    supplement = HiddenField()  # "1": a deliberate "Báo cáo bổ sung" after the report was signed
