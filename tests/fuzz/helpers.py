"""Hypothesis profiles for the fuzz suite: `ci` (the default, sized to run in CI) and `long`.

Choose with HYPOTHESIS_PROFILE=ci|long (`long`, ten times the examples, is for a night run or before
a release). The profile is applied by `fuzz_settings` to the tests of this folder only, never loaded
for the whole session. Every example reads the database afterwards, so examples share the test's app
and database (the function-scoped fixture health check is off on purpose: the invariants hold over
everything stored so far, not only over one example's rows).
"""

import copy
import itertools
import math
import os
import re
from datetime import date

from hypothesis import HealthCheck, settings
from sqlalchemy import func, select

from survey.auth.models import AuditLog
from survey.definitions import engine, expressions
from survey.definitions.types import AnswerError, item_type
from survey.instruments.models import QuestionnaireVersion
from survey.instruments.service import definition_of
from survey.responses.models import DraftLink, HeldSubmission, Response
from survey.responses.service import VALUE_COLUMNS
from survey.sampling.models import InvitationUnit
from tests.factories import SMALL_QUESTIONNAIRE

PROFILES = {"ci": 1, "long": 10}
COMMON = {"deadline": None, "print_blob": True,
          "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                    HealthCheck.data_too_large, HealthCheck.filter_too_much]}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in PROFILES:
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be one of {', '.join(PROFILES)}, not {PROFILE!r}")
for name, factor in PROFILES.items():
    settings.register_profile(f"fuzz-{name}", max_examples=100 * factor, **COMMON)


def fuzz_settings(examples: int = 100, **overrides) -> settings:
    """Settings for one fuzz test: `examples` in the ci profile, ten times as many in long."""
    return settings(settings.get_profile(f"fuzz-{PROFILE}"),
                    max_examples=examples * PROFILES[PROFILE], **overrides)


def _fuzz_questionnaire() -> dict:
    """The small questionnaire of tests/factories.py with every other answerable type added: a date, a
    decimal, text and long text with lengths, a second Likert row, a multiple choice with a maximum and
    a constraint, and a third page."""
    document = copy.deepcopy(SMALL_QUESTIONNAIRE)
    document |= {"id": "fuzz", "title": {"vi": "Phiếu thử nghiệm", "en": "Fuzz form"}}
    first, second = document["sections"]
    first["items"].append({"id": "visit", "type": "date", "min": "2020-01-01", "max": "2030-12-31",
                           "label": {"vi": "Ngày đến", "en": "Visit day"}})
    likert, wish = second["items"]
    likert["rows"].append({"id": "m1_staff", "label": {"vi": "Cán bộ", "en": "Staff"},
                           "score": {"node": "sipas.service.access.seats", "method": "satisfied"}})
    wish |= {"max": 2, "constraint": "not(selected(., 'z')) or count-selected(.) = 1"}
    wish["options"].append({"code": "z", "label": {"vi": "Không", "en": "None"}})
    second["items"].append({"id": "cost", "type": "decimal", "min": 0, "max": 1000.5,
                            "label": {"vi": "Chi phí", "en": "Cost"}})
    document["sections"].append({"id": "s3", "title": {"vi": "Phần 3", "en": "Part 3"}, "items": [
        {"id": "name_place", "type": "text", "max_length": 40, "label": {"vi": "Nơi", "en": "Place"}},
        {"id": "comment", "type": "long_text", "max_length": 300, "label": {"vi": "Góp ý", "en": "Comment"}},
    ]})
    return document


FUZZ_QUESTIONNAIRE = _fuzz_questionnaire()


# --- Invariants, read from the database after each example -------------------------------------

def check_value(definition, item_id: str, column: str, value) -> None:
    """Assert that a stored value is one its item can take: right column, within its options or bounds."""
    item = definition.item(item_id)  # KeyError: an answer to an item the questionnaire does not have
    kind = item_type(item)
    assert item.answerable, f"{item_id}: a {item.type} stores no answer"
    assert column == kind.column, f"{item_id}: stored in {column}, not {kind.column}"
    if column == "value_date" and isinstance(value, str):
        value = date.fromisoformat(value)
    if column == "value_number":
        assert isinstance(value, int | float) and math.isfinite(value), f"{item_id}: {value!r}"
        assert item.type != "integer" or float(value).is_integer(), f"{item_id}: {value!r} is not whole"
    if column == "value_list":
        assert isinstance(value, list) and value and len(value) == len(set(value)), f"{item_id}: {value!r}"
    if column == "value_text":
        assert isinstance(value, str) and value == value.strip() and value, f"{item_id}: {value!r}"
    try:
        kind.check(item, value)  # options of the item or its scale, bounds, length, NFC, no control chars
    except AnswerError as error:
        raise AssertionError(f"{item_id}: stored {value!r} breaks {error.code} {error.params}") from None


def check_complete(definition, answers: dict) -> None:
    """Assert that a submitted response is whole: nothing hidden kept, nothing required missing,
    every constraint holding."""
    assert engine.prune(definition, answers) == answers, f"answers to hidden items kept: {answers}"
    assert engine.first_incomplete(definition, answers) is None, f"submitted incomplete: {answers}"
    for item_id, value in answers.items():
        item = definition.item(item_id)
        if item.constraint:
            assert expressions.holds(item.constraint_expr(), answers, current=value), item_id


def _held_value(column: str, value):
    return date.fromisoformat(value) if column == "value_date" else value


def check_database(session) -> dict:
    """Check every stored answer and the one-response rules; return counts for the test to look at.

    - every answer of a draft, a complete response or a held submission is valid for its item;
    - a complete response (or held submission) is whole;
    - online submissions equal the invitation units marked done (a second response for one invitation
      would make more), and no unit that is done still has a draft;
    - clerks' submissions equal their audit entries (a replayed "Lưu phiếu" would make more).
    """
    session.rollback()
    session.expire_all()
    versions = {v.id: definition_of(v) for v in session.scalars(select(QuestionnaireVersion))}
    submitted = {"online": 0, "entered": 0}
    for response in session.scalars(select(Response)):
        definition = versions[response.questionnaire_version_id]
        answers = {}
        for answer in response.answers:
            column = next(c for c in VALUE_COLUMNS if getattr(answer, c) is not None)
            check_value(definition, answer.item_id, column, answer.value)
            answers[answer.item_id] = answer.value
        if response.status == "complete":
            check_complete(definition, answers)
            submitted["online" if response.mode == "online" else "entered"] += 1
    for held in session.scalars(select(HeldSubmission)):
        definition = versions[held.questionnaire_version_id]
        answers = {}
        for item_id, column, value in held.answers:
            check_value(definition, item_id, column, value)
            answers[item_id] = _held_value(column, value)
        check_complete(definition, answers)
        submitted["online" if held.mode == "online" else "entered"] += 1
    done = session.scalar(select(func.count()).select_from(InvitationUnit)
                          .where(InvitationUnit.status == "done"))
    assert submitted["online"] == done, f"{submitted['online']} online submissions for {done} units done"
    done_with_draft = session.scalar(
        select(func.count()).select_from(DraftLink).join(
            InvitationUnit, (InvitationUnit.invitation_id == DraftLink.invitation_id)
            & (InvitationUnit.unit_id == DraftLink.unit_id)).where(InvitationUnit.status == "done"))
    assert done_with_draft == 0, "a unit that is done still has a draft"
    entered = session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.action == "response.entered"))
    assert submitted["entered"] == entered, f"{submitted['entered']} entered forms, {entered} audit entries"
    session.rollback()
    return {"done": done, "entered": entered}


def assert_no_server_error(response, what: str) -> None:
    """A fuzzed request may be refused (4xx) but never fail (5xx)."""
    body = response.get_data(as_text=True)[:500]
    assert response.status_code < 500, f"{what}: {response.status_code}\n{body}"


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_addresses = itertools.count(1)


def fresh_address() -> str:
    """A client address of its own for each example, so that per-address limits measure one example."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def csrf_of(client, token: str) -> str:
    """The client's CSRF token, read once from the landing page (it has no form once all is done)."""
    if not hasattr(client, "fuzz_csrf"):
        client.fuzz_csrf = CSRF.search(client.get(f"/r/{token}").text).group(1)
    return client.fuzz_csrf
