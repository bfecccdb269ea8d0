"""A link rating several units asks the questions about the person once, and names the rated unit.

The profile's answers are copied into every unit's response (as if answered there); the responses
carry nothing more than a single unit's response does (docs/security.md, "Several units from one link").
"""

import copy
import re

import pytest
from sqlalchemy import select

from survey.instruments.service import definition_of
from survey.respond import answering
from survey.responses.models import HeldSubmission, Response
from survey.sampling import service as waves
from survey.sampling.models import Invitation, InvitationUnit
from tests.conftest import TEST_SECRET
from tests.factories import SMALL_QUESTIONNAIRE, make_invitation, make_unit, make_version

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

WITH_PROFILE = copy.deepcopy(SMALL_QUESTIONNAIRE) | {"id": "small-profile"}
WITH_PROFILE["sections"].append(
    {"id": "about", "once": True, "title": {"vi": "Thông tin về người trả lời", "en": "About you"},
     "items": [{"id": "sex", "type": "single_choice", "required": True,
                "label": {"vi": "Giới tính", "en": "Sex"},
                "options": [{"code": "1", "label": {"vi": "Nam", "en": "Male"}},
                            {"code": "2", "label": {"vi": "Nữ", "en": "Female"}}]}]})
ABOUT = "/p/3"


@pytest.fixture
def two_units(session):
    """A link rating two communes with a questionnaire ending in a profile page; (invitation, token)."""
    units = [make_unit(session, name="Sở Nội vụ"), make_unit(session, name="Sở Tài chính")]
    invitation, token = make_invitation(session, TEST_SECRET, units=units,
                                        version=make_version(session, WITH_PROFILE))
    session.commit()
    return invitation, token


def csrf(client, token) -> str:
    """A CSRF token of this client's session."""
    return CSRF.search(client.get(f"/r/{token}").text).group(1)


def start(client, token, unit_id, form) -> str:
    """Press Start for a unit; return the URL of the page it opens on."""
    return client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": form}).headers["Location"]


def answers_by_unit(session) -> dict:
    """Return the answers of every draft, held submission and released response, by unit."""
    session.expire_all()
    found = {r.unit_id: {a.item_id: a.value for a in r.answers} for r in session.scalars(select(Response))}
    for held in session.scalars(select(HeldSubmission)):
        found[held.unit_id] = {item_id: value for item_id, _column, value in held.answers}
    return found


def test_profile_asked_once_and_copied_into_each_unit(client, session, two_units):
    """Unit 1 asks the profile after its ratings; unit 2 skips it (its last page submits) and its
    response carries the same profile answer; the heading of each rating page is the unit's name."""
    invitation, token = two_units
    one, two = (entry.unit_id for entry in invitation.units)
    form = csrf(client, token)
    first = start(client, token, one, form)
    page = client.get(first).text
    assert re.search(r'<h1 class="rated-unit">Sở Nội vụ</h1>', page)
    assert "<title>Sở Nội vụ: 1. Phần 1" in page  # the tab names the unit too, then the numbered section
    about = client.post(first, data={"csrf_token": form, "used": "n", "age": "40", "action": "next"})
    assert about.headers["Location"].endswith(ABOUT)
    profile = client.get(about.headers["Location"]).text
    assert "Thông tin về người trả lời</h1>" in profile and "Sở Nội vụ</h1>" not in profile
    assert "chỉ hỏi một lần" in profile
    done = client.post(about.headers["Location"], data={"csrf_token": form, "sex": "2", "action": "submit"})
    assert done.headers["Location"].endswith("/done")
    session.expire_all()
    assert session.get(Invitation, invitation.id).profile_unit_id == one
    # The second unit's draft was started with the profile when the first was sent.
    assert answers_by_unit(session)[two] == {"sex": "2"}

    second = start(client, token, two, form)
    assert "Sở Tài chính</h1>" in client.get(second).text
    assert client.get(second.replace("/p/1", ABOUT)).headers["Location"].endswith("/p/1")  # not asked
    last = client.post(second, data={"csrf_token": form, "used": "n", "age": "40", "action": "next"})
    assert last.headers["Location"].endswith("/p/1")  # the ratings' last page is the last page
    assert 'value="submit"' in client.get(second).text
    sent = client.post(second, data={"csrf_token": form, "used": "n", "age": "40", "action": "submit"})
    assert sent.headers["Location"].endswith("/done")
    assert answers_by_unit(session) == {one: {"used": "n", "age": 40, "sex": "2"},
                                        two: {"used": "n", "age": 40, "sex": "2"}}
    assert set(session.scalars(select(InvitationUnit.status))) == {"done"}


def test_profile_claimed_by_whichever_unit_reaches_it_first(client, session, two_units):
    """Both units started; the profile saved in unit 2 goes into unit 1's draft, and unit 1 skips it;
    a change of the profile later reaches the other draft too."""
    invitation, token = two_units
    one, two = (entry.unit_id for entry in invitation.units)
    form = csrf(client, token)
    first, second = start(client, token, one, form), start(client, token, two, form)
    about = client.post(second, data={"csrf_token": form, "used": "n", "age": "50",
                                      "action": "next"}).headers["Location"]
    client.post(about, data={"csrf_token": form, "sex": "1", "save": "1"})
    assert answers_by_unit(session)[one] == {"sex": "1"}
    client.post(about, data={"csrf_token": form, "sex": "2", "save": "1"})
    assert answers_by_unit(session)[one] == {"sex": "2"}
    session.expire_all()
    assert session.get(Invitation, invitation.id).profile_unit_id == two
    last = client.post(first, data={"csrf_token": form, "used": "n", "age": "35", "action": "next"})
    assert last.headers["Location"].endswith("/p/1")
    sent = client.post(first, data={"csrf_token": form, "used": "n", "age": "35", "action": "submit"})
    assert sent.headers["Location"].endswith("/done")
    held = session.scalars(select(HeldSubmission)).all() or session.scalars(
        select(Response).where(Response.status == "complete")).all()
    assert len(held) == 1


def test_a_single_unit_link_asks_the_profile_as_any_page(client, session):
    """With one unit nothing is skipped nor recorded; the profile is the last page as written."""
    invitation, token = make_invitation(session, TEST_SECRET, version=make_version(session, WITH_PROFILE))
    session.commit()
    form = csrf(client, token)
    first = start(client, token, invitation.units[0].unit_id, form)
    about = client.post(first, data={"csrf_token": form, "used": "n", "age": "40", "action": "next"})
    assert about.headers["Location"].endswith(ABOUT)
    assert "chỉ hỏi một lần" not in client.get(about.headers["Location"]).text
    client.post(about.headers["Location"], data={"csrf_token": form, "sex": "1", "action": "submit"})
    session.expire_all()
    assert session.get(Invitation, invitation.id).profile_unit_id is None


def test_the_copied_responses_carry_no_more_than_one_unit_would(client, session, two_units):
    """Service level: the responses of one link share no id, no draft link survives, and each carries
    the columns and answers any response carries (the profile as if answered there)."""
    invitation, token = two_units
    one, two = (entry.unit_id for entry in invitation.units)
    version = waves.assignment(session, invitation.wave_id, invitation.group_id).questionnaire_version
    definition = definition_of(version)
    drafts = {unit_id: answering.open_draft(session, invitation, unit_id, version.id, "vi", definition)
              for unit_id in (one, two)}
    posted = answering.Posted(values={"used": "n", "age": "30"}, action="next", language="vi", seconds=20)
    for unit_id in (one, two):
        answering.post_page(session, drafts[unit_id], definition, invitation, 0, posted)
    answering.post_page(session, drafts[one], definition, invitation, 2,
                        answering.Posted(values={"sex": "1"}, action="submit", language="vi",
                                         seconds=20))
    outcome = answering.post_page(session, drafts[two], definition, invitation, 0,
                                  answering.Posted(values={"used": "n", "age": "30"}, action="submit",
                                                   language="vi"))
    assert outcome.submitted
    session.commit()
    held = session.scalars(select(HeldSubmission)).all()
    assert len(held) == 2 and len({h.id for h in held}) == 2
    expected = [["age", "value_number", 30.0], ["sex", "value_text", "1"], ["used", "value_text", "n"]]
    assert [sorted(h.answers) for h in held] == [expected, expected]
    # The unit that asked the profile cannot be told from the one that got a copy: no time on that page.
    assert [sorted(h.page_seconds) for h in held] == [["s1"], ["s1"]]
    assert session.scalars(select(Response)).all() == []  # no draft, so no draft link, is left
