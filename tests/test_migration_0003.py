"""Migration 0003 (held submissions): stored responses survive, reshuffled; a downgrade loses nothing."""

import uuid
from datetime import date

from sqlalchemy import column, insert, select, table, text
from sqlalchemy.orm import Session

from survey import migrate
from survey.db import Database
from survey.responses.models import Answer, HeldSubmission, Response
from survey.sampling import tokens
from survey.sampling.models import WaveGroup
from tests.conftest import TEST_SECRET, on_postgresql
from tests.factories import make_group, make_unit, make_version


def _row(session, table_name: str, /, **values) -> int:
    """Insert a row with these columns alone (the models have more columns than revision 0002 had);
    return its id."""
    target = table(table_name, *map(column, {"id": None} | values))  # "id" first, given or not
    return session.execute(insert(target).values(**values).returning(target.c.id)).scalar_one()


def _invitation_at_0002(session) -> tuple[int, int, int, int]:
    """An invitation as revision 0002 stored it (plain SQL with that revision's columns: the model has
    more since); return (invitation id, wave id, group id, unit id)."""
    group, unit = make_group(session), make_unit(session)
    wave = type("Stored", (), {"id": _row(session, "waves", code="W0002", year=2025, name="Đợt 2025",
                                          status="open", opens_on=date(2025, 11, 1),
                                          closes_on=date(2025, 11, 30))})
    version = make_version(session)
    session.add(WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=version.id))
    session.flush()
    invitations = table("invitations", *map(column, (
        "id", "wave_id", "group_id", "cluster_code", "token_hash", "language", "status", "source")))
    invitation_id = session.execute(insert(invitations).values(
        wave_id=wave.id, group_id=group.id, cluster_code="C1", language="vi", status="pending",
        source="frame", token_hash=tokens.token_hash(TEST_SECRET, tokens.new_token()))
        .returning(invitations.c.id)).scalar_one()
    units = table("invitation_units", *map(column, ("invitation_id", "unit_id", "position", "status")))
    session.execute(insert(units).values(invitation_id=invitation_id, unit_id=unit.id, position=0,
                                         status="not_started"))
    session.commit()
    return invitation_id, wave.id, group.id, unit.id


def _answers(session) -> set[tuple]:
    """Return every answer as (response, item, number, text)."""
    return set(session.execute(select(Answer.response_id, Answer.item_id, Answer.value_number,
                                      Answer.value_text)).all())


def test_upgrade_keeps_responses_and_downgrade_releases_held(empty_app):  # noqa: F811
    """Responses stored at 0002 are all there after 0003, with one transaction id shared with every
    completion; a held submission is released into responses by the downgrade."""
    migrate.upgrade(empty_app, "0002")
    engine = Database.engine(empty_app)
    with Session(engine) as session:
        invitation_id, wave_id, group_id, unit_id = _invitation_at_0002(session)
        version_id = session.scalar(text("SELECT questionnaire_version_id FROM wave_groups"))
        for n in range(4):
            response_id = _row(session, "responses", id=uuid.uuid4().hex, wave_id=wave_id,
                               questionnaire_version_id=version_id, unit_id=unit_id, group_id=group_id,
                               mode="online", language="vi", status="complete",
                               submitted_on=date(2025, 11, 3), current_page=0)
            answers = table("answers", *map(column, ("response_id", "item_id", "value_number", "value_text")))
            session.execute(insert(answers), [
                {"response_id": response_id, "item_id": "age", "value_number": 30.0 + n, "value_text": None},
                {"response_id": response_id, "item_id": "used", "value_number": None, "value_text": "n"}])
            session.commit()  # one transaction per response, as submissions were before 0003
        session.execute(text("UPDATE invitation_units SET status = 'done' WHERE invitation_id = :i"),
                        {"i": invitation_id})
        session.execute(text("UPDATE invitations SET status = 'completed' WHERE id = :i"),
                        {"i": invitation_id})
        session.commit()
        before = _answers(session)
    migrate.upgrade(empty_app)
    with Session(engine) as session:
        assert _answers(session) == before and len(before) == 8
        if on_postgresql():
            xids = set(session.execute(text(
                "SELECT xmin::text FROM responses UNION SELECT xmin::text FROM answers"
                " UNION SELECT xmin::text FROM invitation_units"
                " UNION SELECT xmin::text FROM invitations WHERE status = 'completed'")).scalars())
            assert len(xids) == 1
        response = session.scalars(select(Response)).first()
        session.add(HeldSubmission(
            wave_id=response.wave_id, questionnaire_version_id=response.questionnaire_version_id,
            unit_id=response.unit_id, group_id=response.group_id, mode="online", language="vi",
            submitted_on=date(2025, 11, 4), page_seconds={"s1": 10},
            answers=[["age", "value_number", 61.0], ["wish", "value_list", ["a", "b"]]]))
        session.commit()
    migrate.downgrade(empty_app, "0002")
    with Session(engine) as session:
        rows = session.execute(text("SELECT id, submitted_on FROM responses")).all()
        assert len(rows) == 5
        ages = session.execute(text(
            "SELECT value_number FROM answers WHERE item_id = 'age'")).scalars().all()
        assert sorted(ages) == [30.0, 31.0, 32.0, 33.0, 61.0]
        assert session.execute(text(
            "SELECT count(*) FROM answers WHERE item_id = 'wish'")).scalar() == 1
    migrate.upgrade(empty_app)
    migrate.check(empty_app)
