"""Minimum and maximum choices of a multiple choice, enforced by the server (the page script: browser tests).

"Chọn một hoặc nhiều" with `min: 1` cannot be left empty, though the item is not `required`; more
than `max` is refused; a hidden item is not checked at all.
"""

import pytest
from sqlalchemy import select

from survey.definitions import engine, load
from survey.respond.messages import choice_rule
from survey.responses.models import Response
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, log_in, make_invitation, make_version

OPTIONS = [{"code": c, "label": {"vi": f"Phương án {c}", "en": f"Option {c}"}} for c in "abcd"]
CHOICES = {
    "id": "choices", "version": "1", "title": {"vi": "Phiếu thử", "en": "Test form"},
    "sections": [{"id": "p1", "title": {"vi": "Mong đợi", "en": "Wishes"}, "items": [
        {"id": "asked", "type": "single_choice", "options": OPTIONS[:2],
         "label": {"vi": "Hỏi tiếp?", "en": "Ask on?"}},
        {"id": "improve", "type": "multiple_choice", "min": 1, "max": 2, "options": OPTIONS,
         "relevant": "${asked} = 'a'",
         "label": {"vi": "Cần cải thiện gì? (chọn một hoặc hai)", "en": "What to improve? (one or two)"}},
    ]}],
}


@pytest.mark.parametrize(("chosen", "error"), [
    ([], "too_few"), (["a"], None), (["a", "b"], None), (["a", "b", "c"], "too_many")])
def test_counts_are_checked(chosen, error):
    """Empty and three choices are refused; one or two pass."""
    section = load.from_document(CHOICES).sections[0]
    result = engine.read_page(section, {"asked": "a", "improve": chosen}, {})
    assert (result.errors["improve"].code if "improve" in result.errors else None) == error


def test_a_hidden_item_is_not_checked():
    """When the item is not shown, its minimum does not hold the respondent back."""
    section = load.from_document(CHOICES).sections[0]
    assert engine.read_page(section, {"asked": "b"}, {}).errors == {}


def test_an_empty_answer_is_refused_on_the_page(client, session):
    """Without JavaScript: the post answers 422 with the message, nothing is submitted; one choice passes."""
    invitation, token = make_invitation(session, TEST_SECRET, version=make_version(session, CHOICES))
    session.commit()
    form = csrf_token(client, f"/r/{token}")
    page = client.post(f"/r/{token}/u/{invitation.units[0].unit_id}/start",
                       data={"csrf_token": form}).headers["Location"]
    empty = client.post(page, data={"csrf_token": form, "asked": "a", "action": "submit"})
    assert empty.status_code == 422 and "Vui lòng chọn ít nhất 1 phương án." in empty.text
    many = client.post(page, data={"csrf_token": form, "asked": "a", "improve": ["a", "b", "c"],
                                   "action": "submit"})
    assert many.status_code == 422 and "Vui lòng chọn nhiều nhất 2 phương án." in many.text
    session.expire_all()
    assert session.scalars(select(Response.status)).all() == ["draft"]
    one = client.post(page, data={"csrf_token": form, "asked": "a", "improve": ["c"], "action": "submit"})
    assert one.status_code == 302 and one.headers["Location"].endswith("/done")


@pytest.mark.parametrize(("bounds", "said"), [
    ({"min": 1, "max": 2}, "Chọn từ 1 đến 2 phương án."),
    ({"min": 2, "max": 2}, "Chọn đúng 2 phương án."),
    ({"max": 3}, "Chọn tối đa 3 phương án."),
    ({"min": 2}, "Chọn ít nhất 2 phương án."),
    ({"min": 1}, None),  # "one or more" is what a multiple choice already says
    ({}, None),
])
def test_the_rule_in_words(app, bounds, said):
    """The count a multiple choice takes, said as the page and the paper form say it."""
    asked, improve = CHOICES["sections"][0]["items"]
    improve = dict({k: v for k, v in improve.items() if k not in ("min", "max")}, **bounds)
    document = dict(CHOICES, sections=[dict(CHOICES["sections"][0], items=[asked, improve])])
    item = load.from_document(document).sections[0].items[1]
    with app.test_request_context():
        assert choice_rule(item) == said


def test_page_and_paper_form_say_how_many(app, client, session):
    """The phone's page gives the rule under the question (in its hint, read by screen readers with
    it), in English too; the printed form gives it instead of "Có thể chọn nhiều phương án"."""
    version = make_version(session, CHOICES)
    invitation, token = make_invitation(session, TEST_SECRET, version=version)
    session.commit()
    unit = invitation.units[0].unit_id
    url = client.post(f"/r/{token}/u/{unit}/start", data={"csrf_token": csrf_token(client, f"/r/{token}")}
                      ).headers["Location"]
    page = client.get(url).text
    assert '<p class="hint" id="q-improve-hint">Chọn từ 1 đến 2 phương án.</p>' in page
    assert 'aria-describedby="q-improve-hint"' in page
    assert "Choose from 1 to 2 options." in client.get(url + "?lang=en").text
    log_in(client, session, "coordinator")
    paper = client.get("/staff/questionnaires/choices/1/print?lang=vi").text
    assert "Chọn từ 1 đến 2 phương án." in paper and "Có thể chọn nhiều phương án" not in paper
