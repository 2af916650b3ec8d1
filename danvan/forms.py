"""Form base: every text field is normalised to NFC and stripped of control characters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from danvan.text import clean_line, clean_text


class BaseForm(FlaskForm):
    """A FlaskForm (CSRF on) whose string fields clean their input."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", []))
            cls = unbound_field.field_class
            if issubclass(cls, TextAreaField):
                filters.insert(0, clean_text)
            elif issubclass(cls, StringField):
                filters.insert(0, clean_line)
            return unbound_field.bind(form=form, filters=filters, **options)
