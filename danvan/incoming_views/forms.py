"""Forms of the sổ văn bản đến."""

from wtforms import HiddenField

from danvan.forms import BaseForm


class AcceptForm(BaseForm):
    """The "Tiếp nhận" button: the version the page showed (optimistic locking)."""

    version = HiddenField()
