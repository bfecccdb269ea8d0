"""Anonymity by construction: a submitted response cannot be joined back to its invitation."""

from datetime import date

import pytest
from sqlalchemy import Date, DateTime, select, text

from survey.definitions import load
from survey.models import Base
from survey.responses import service
from survey.responses.models import DraftLink, Response
from tests.conftest import TEST_SECRET
from tests.factories import SMALL_QUESTIONNAIRE, make_invitation, make_stratum, make_version, make_wave

DEFINITION = load.from_document(SMALL_QUESTIONNAIRE)
IDENTITY_TABLES = ("invitations", "invitation_units", "frame_entries", "draft_links")


def answer_and_submit(session, invitation, version, age):
    """Answer through the service layer and submit; return the draft id and the response."""
    unit_id = invitation.units[0].unit_id
    draft = service.start_draft(session, invitation, unit_id, version.id)
    service.save_answers(session, draft, DEFINITION, {"used": "y", "age": float(age),
                                                       "m1_signs": "4", "wish": ["a", "b"]})
    draft_id = draft.id
    return draft_id, service.submit(session, draft, invitation, today=date(2025, 11, 3))


@pytest.fixture
def submitted(session):
    """Two people of one stratum and cluster, both rating the same commune, both submitted."""
    wave, version = make_wave(session), make_version(session)
    stratum = make_stratum(session, wave)
    first, _ = make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version)
    second, _ = make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version,
                                group=first.group, units=[first.units[0].unit])
    results = [answer_and_submit(session, inv, version, age) for inv, age in ((first, 41), (second, 29))]
    session.commit()
    return [first, second], results


def test_no_foreign_key_from_responses_to_identity():
    """The schema has no foreign key from responses or answers to invitations or the frame."""
    for name in ("responses", "answers"):
        targets = {fk.column.table.name for fk in Base.metadata.tables[name].foreign_keys}
        assert targets.isdisjoint(IDENTITY_TABLES), (name, targets)


def test_no_timestamp_on_responses():
    """Responses and answers carry no time of day that could be matched to link activity."""
    for name in ("responses", "answers"):
        for column in Base.metadata.tables[name].columns:
            assert not isinstance(column.type, DateTime), column
    assert isinstance(Base.metadata.tables["responses"].c.submitted_on.type, Date)


def test_draft_link_is_gone_and_ids_differ(session, submitted):
    """After submission no draft link remains, and the response has a new id, not the draft's."""
    _, results = submitted
    assert session.scalar(select(DraftLink).limit(1)) is None
    for draft_id, response in results:
        assert response.id != draft_id
        assert session.get(Response, draft_id) is None
        assert response.status == "complete"


def test_response_id_appears_nowhere_else(session, submitted):
    """No column of any table except answers.response_id holds a submitted response's id."""
    _, results = submitted
    ids = {response.id for _, response in results}
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            for column, value in zip(table.columns, row, strict=True):
                if (table.name, column.name) in {("responses", "id"), ("answers", "response_id")}:
                    continue
                assert not any(i in str(value) for i in ids), (table.name, column.name)


def test_joining_on_every_shared_column_is_ambiguous(session, submitted):
    """A join of responses to completed invitations on every column they share finds both people."""
    invitations, results = submitted
    rows = session.execute(text(
        "SELECT r.id, i.id FROM responses r JOIN invitations i"
        " ON i.wave_id = r.wave_id AND i.group_id = r.group_id AND i.stratum_id = r.stratum_id"
        " AND i.cluster_code = r.cluster_code AND i.language = r.language"
        " JOIN invitation_units iu ON iu.invitation_id = i.id AND iu.unit_id = r.unit_id"
        " WHERE r.status = 'complete' AND iu.status = 'done'")).all()
    matches = {}
    for response_id, invitation_id in rows:
        matches.setdefault(response_id, set()).add(invitation_id)
    assert set(matches) == {response.id for _, response in results}
    assert all(found == {i.id for i in invitations} for found in matches.values())


def test_invitation_only_records_completion(session, submitted):
    """The invitation says it is completed and its unit done, and nothing about the answers."""
    invitations, _ = submitted
    for invitation in invitations:
        session.refresh(invitation)
        assert invitation.status == "completed"
        assert [u.status for u in invitation.units] == ["done"]


def test_answers_are_stored_typed(session, submitted):
    """The submitted response holds the typed answers."""
    _, results = submitted
    response = session.get(Response, results[0][1].id)
    values = {a.item_id: a.value for a in response.answers}
    assert values == {"used": "y", "age": 41.0, "m1_signs": "4", "wish": ["a", "b"]}
