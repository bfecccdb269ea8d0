"""Flask-WTF forms built at run time from a questionnaire section (one form per page)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from survey.definitions.engine import page_items
from survey.definitions.model import Item, Section


class PageForm(FlaskForm):
    """Base of the page forms: CSRF only; the answering engine reads and checks the values."""


class CheckboxesField(SelectMultipleField):
    """Several options as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(item: Item, language: str) -> list[SelectChoice]:
    """Return the options in the respondent's language."""
    return [SelectChoice(o.code, o.label.get(language)) for o in item.options]


def make_field(item: Item, language: str):
    """Return the unbound WTForms field for one answerable item."""
    label = item.label.get(language)
    if item.type == "single_choice":
        return RadioField(label, choices=_choices(item, language), validate_choice=False)
    if item.type == "multiple_choice":
        return CheckboxesField(label, choices=_choices(item, language), validate_choice=False)
    if item.type == "long_text":
        return TextAreaField(label, render_kw={"rows": 4, "maxlength": item.max_length or 5000})
    render_kw = {
        "integer": {"inputmode": "numeric", "autocomplete": "off"},
        "decimal": {"inputmode": "decimal", "autocomplete": "off"},
        "date": {"type": "date"},
        "text": {"maxlength": item.max_length or 255},
    }[item.type]
    return StringField(label, render_kw=render_kw)


def page_form(section: Section, language: str, answers: dict, formdata=None) -> PageForm:
    """Build and instantiate the form of a page, prefilled with stored answers."""
    fields = {item.id: make_field(item, language) for item in page_items(section)}
    form_class = type(f"Page_{section.id}", (PageForm,), fields)
    data = {item_id: _shown(answers.get(item_id)) for item_id in fields}
    return form_class(formdata=formdata, data=data)


def _shown(value):
    """Show a stored value in its input: 34 rather than 34.0, dates as ISO."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def raw_values(form: PageForm, section: Section) -> dict:
    """Return the submitted raw values of a page's items."""
    return {item.id: form[item.id].data for item in page_items(section)}
