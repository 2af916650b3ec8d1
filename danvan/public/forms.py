"""The staff's "Công khai" form."""

from wtforms import HiddenField

from danvan.forms import BaseForm


class PublishForm(BaseForm):
    version = HiddenField()
    cong_khai = HiddenField()
