"""Form base: every text field is normalised to NFC and stripped of control characters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from danvan.text import clean_line, clean_text


def _text_filter(clean):
    return lambda value: clean(value) if isinstance(value, str) else value


_CLEAN_TEXT, _CLEAN_LINE = _text_filter(clean_text), _text_filter(clean_line)


class BaseForm(FlaskForm):
    """A FlaskForm (CSRF on) whose string fields clean their input."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", []))
            cls = unbound_field.field_class
            if issubclass(cls, TextAreaField):
                filters.insert(0, _CLEAN_TEXT)
            elif issubclass(cls, StringField):
                filters.insert(0, _CLEAN_LINE)
            return unbound_field.bind(form=form, filters=filters, **options)
