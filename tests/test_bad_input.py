"""Hostile input answers 404 or a Vietnamese message, never 500 or English (issue 6)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import unicodedata
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from werkzeug.datastructures import MultiDict
from werkzeug.routing.converters import NumberConverter
from wtforms import SelectFieldBase, TextAreaField

import danvan
from danvan.extensions import db
from danvan.forms import MESSAGES_VI, BaseForm
from danvan.operations import entries as ops
from danvan.operations import reports as report_ops
from danvan.web import IdConverter
from danvan.workflow import EntryAction

HUGE = "99999999999999999999"  # beyond PostgreSQL's bigint
# Beyond bigint, beyond integer, zero (no row has it; date(0, …) raises), the largest integer.
OUT_OF_RANGE = [HUGE, "2147483648", "0", "2147483647"]
SAMPLE_VALUES = {"action": "approve", "kind": "pdf"}
IGNORED = "không hợp lệ nên đã được bỏ qua"


def numbered_routes(app):
    """(method, path with {n} for each number) of every route that takes a number."""
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # werkzeug keeps no public name → converter mapping
        numbers = {name for name, c in converters.items() if isinstance(c, NumberConverter)}
        if not numbers:
            continue
        assert all(isinstance(converters[name], IdConverter) for name in numbers), rule.rule
        path = re.sub(
            r"<(?:[^:>]+:)?([^>]+)>",
            lambda m, numbers=numbers: "{n}" if m[1] in numbers else SAMPLE_VALUES.get(m[1], "x"),
            rule.rule,
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_every_route_answers_404_to_an_out_of_range_number(world, login, app, value):
    client = login(world.admin)  # an overseer: no permission check answers first
    routes = list(numbered_routes(app))
    assert len(routes) >= 20
    from danvan.api.tokens import create_token

    # /api/v1 takes a Bearer token, not the cookie.
    bearer = {"Authorization": f"Bearer {create_token(world.admin, name='t').secret}"}
    db.session.commit()
    answers = {
        (method, path): client.open(
            path.format(n=value), method=method, headers=bearer if path.startswith("/api/") else {}
        ).status_code
        for method, path in routes
    }
    # The API checks a request's body (415 wrong type, 422 missing fields) before it looks
    # the object up; with a body that passes, the same 404.
    refused = {404, 415, 422}
    assert {
        route: code
        for route, code in answers.items()
        if code != 404 and not (route[1].startswith("/api/") and code in refused)
    } == {}


def test_numbers_in_paths_accept_only_ascii_digits_in_range(world, login):
    client = login(world.admin)
    for path in (
        "/hoat-dong/%D9%A1",
        "/hoat-dong/%C2%B2",
        "/hoat-dong/-1",
        "/hoat-dong/1" + "0" * 5000,
    ):
        assert client.get(path).status_code == 404, path[:40]
    assert client.get("/so-van-ban-di/10000.docx").status_code == 404
    for year in (1, 2023, 9999):  # every year datetime.date can hold prints an (empty) register
        assert client.get(f"/so-van-ban-di/{year}.docx").status_code == 200, year


@pytest.mark.parametrize(
    "url",
    [
        "/hoat-dong?don_vi={v}",
        "/hoat-dong?noi_dung={v}",
        "/hoat-dong?ke_hoach={v}",
        "/viec-can-xu-ly?don_vi={v}",
        "/viec-can-xu-ly?noi_dung={v}",
        "/viec-can-xu-ly?ke_hoach={v}",
        "/luu-tru?nam={v}",
        "/so-van-ban-di?nam={v}",
    ],
)
@pytest.mark.parametrize("value", [HUGE, "2147483648", "0", "-3", "abc", "%C2%B2", "1" * 5000])
def test_bad_number_filters_are_ignored_with_a_warning(world, login, url, value):
    response = login(world.admin).get(url.format(v=value))
    assert response.status_code == 200
    assert IGNORED in response.get_data(as_text=True)


def test_good_filters_give_no_warning_and_years_are_bounded(world, login):
    client = login(world.admin)
    url = f"/hoat-dong?don_vi={world.unit_a.id}&ke_hoach={world.campaign.id}"
    assert IGNORED not in client.get(url).get_data(as_text=True)
    assert IGNORED not in client.get("/so-van-ban-di?nam=2023").get_data(as_text=True)
    assert IGNORED in client.get("/luu-tru?nam=10000").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/hoat-dong", "/viec-can-xu-ly", "/luu-tru"])
def test_search_text_with_nul_and_nfd_is_cleaned(world, login, url):
    nfd = unicodedata.normalize("NFD", "Hội nghị")
    response = login(world.admin).get(url, query_string={"q": f"{nfd}\x00\x0b"})
    assert response.status_code == 200  # PostgreSQL refuses NUL in a text parameter


def test_posted_ids_out_of_range_are_refused_without_500(world, login):
    entry = ops.create_entry(world.campaign, actor=world.staff_a, fields=world.entry_fields())
    ops.act(entry, EntryAction.SUBMIT, actor=world.staff_a)
    db.session.commit()
    client = login(world.head_a)
    response = client.post(
        "/viec-can-xu-ly/duyet-nhieu", data={"entry_ids": [HUGE, "²", str(entry.id)]}
    )
    assert response.status_code == 303


def test_report_signer_out_of_range_is_a_bad_request(world, login):
    report = report_ops.compile_report(world.campaign, actor=world.office)
    db.session.commit()
    client = login(world.chief)
    for signer in (HUGE, "2147483648", "0", "abc"):
        answer = client.post(f"/bao-cao/{report.id}/thao-tac/submit", data={"signer_id": signer})
        assert answer.status_code == 400, signer


def test_overlong_title_is_refused_in_vietnamese(world, login):
    client = login(world.staff_a)
    response = client.post(
        f"/ke-hoach/{world.campaign.id}/hoat-dong/moi",
        data={
            "content_item_id": world.campaign.content_items[0].id,
            "title": "Hội nghị " * 100,
            "date_from": "12/10/2023",
            "date_to": "12/10/2023",
            "observance_id": "99999999999999999999",
            "participants_officials": "abc",
            "model_field": "Không có",
            "form_token": "t",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Không được dài quá 500 ký tự." in page
    assert "Lựa chọn không hợp lệ." in page
    assert "Vui lòng nhập số nguyên" in page
    assert "Field cannot be longer" not in page and "Not a valid choice" not in page


# --- Every form of the project, every field, bad input: no English message, text cleaned. ---


def _message_ids() -> set[str]:
    """Every message WTForms and Flask-WTF translate (their catalogue and their source)."""
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    ids = set()
    for match in re.finditer(r'^msgid(?:_plural)? "(.+)"$', pot.read_text("utf-8"), re.M):
        ids.add(match[1].replace('\\"', '"'))
    for path in Path(flask_wtf.__file__).parent.glob("*.py"):
        ids.update(
            re.findall(r'gettext\(\s*"([^"{]*(?:\{extensions\})?[^"]*)"\s*\)', path.read_text())
        )
    return ids


def test_every_wtforms_message_has_a_vietnamese_translation():
    ids = _message_ids()
    assert len(ids) >= 40
    assert sorted(ids - set(MESSAGES_VI)) == []


def _english_patterns() -> list[re.Pattern]:
    patterns = []
    for msgid in _message_ids():
        pattern = re.escape(msgid)
        pattern = re.sub(r"%\\\((\w+)\\\)[ds]|%s|\\\{\w+\\\}", ".*", pattern)
        patterns.append(re.compile(pattern))
    patterns.append(re.compile(r"File must be between"))
    return patterns


def project_forms() -> list[type[BaseForm]]:
    """Every form class defined in the danvan package."""
    for info in pkgutil.walk_packages(danvan.__path__, "danvan."):
        if info.name.endswith("forms") and "migrations" not in info.name:
            importlib.import_module(info.name)
    found, todo = set(), [BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("danvan.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


NFD = unicodedata.normalize("NFD", "Đồng ý, ẩn danh")
# Invalid input for any field: empty, too long, beyond integer, negative, not a number, not a
# date, NFD with control characters.
BAD_VALUES = ["", "x" * 100_001, HUGE, "9" * 5000, "-1", "abc", "32/13/2023", f"  {NFD}\x00\x0b  "]


def test_project_forms_are_all_found():
    names = {cls.__name__ for cls in project_forms()}
    assert {"LoginForm", "ChangePasswordForm", "EntryForm", "NarrativeForm"} <= names


def _bound_form(app, form_class, value: str):
    """The form validated against ``value`` posted for each of its fields."""
    with app.test_request_context(method="POST"):
        names = [field.name for field in form_class()]
    data = MultiDict({name: value for name in names})
    with app.test_request_context(method="POST", data=data):
        takes_username = "username" in inspect.signature(form_class).parameters
        form = form_class(username="cv.a") if takes_username else form_class()
        for field in form:
            if isinstance(field, SelectFieldBase) and field.choices is None:
                field.choices = [(1, "Một")]  # a view fills them; any will do
        form.validate()
    return form


@pytest.mark.parametrize("form_class", project_forms(), ids=lambda c: c.__name__)
def test_every_form_answers_bad_input_in_vietnamese_and_cleans_text(app, form_class):
    english = _english_patterns()
    messages = []
    for value in BAD_VALUES:
        form = _bound_form(app, form_class, value)
        for field in form:
            messages += [(field.name, value[:20], message) for message in field.errors]
            if isinstance(field.data, str):
                assert unicodedata.is_normalized("NFC", field.data), field.name
                assert not re.search("[\x00\x0b]", field.data), field.name
                if not isinstance(field, TextAreaField):
                    assert field.data == field.data.strip(), field.name
    for name, value, message in messages:
        assert not any(p.fullmatch(message) for p in english), (name, value, message)
        assert re.search(r"[^\x00-\x7f]", message), f"not Vietnamese: {(name, value, message)}"
    validated = [f for f in form if f.validators or isinstance(f, SelectFieldBase)]
    assert messages or not validated, "bad input raised no message at all"


def test_overlong_hidden_form_token_is_not_a_database_error(world, login):
    response = login(world.staff_a).post(
        f"/ke-hoach/{world.campaign.id}/hoat-dong/moi",
        data={
            "content_item_id": world.campaign.content_items[0].id,
            "title": "Hội nghị tuyên truyền",
            "date_from": "12/10/2023",
            "date_to": "12/10/2023",
            "observance_id": "0",
            "form_token": "t" * 65,  # the column holds 64
        },
    )
    assert response.status_code == 200
