"""Fixtures of the fuzz suite: a wave answering the fuzz questionnaire (tests/fuzz/helpers.py)."""

import pytest
from sqlalchemy import select

from survey.sampling.models import WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import make_group, make_invitation, make_unit, make_version, make_wave
from tests.fuzz.helpers import FUZZ_QUESTIONNAIRE

OPEN_QUOTA = 4


@pytest.fixture
def world(session):
    """A wave, a group answering the fuzz questionnaire with an open link (quota OPEN_QUOTA), two
    assessed units and one that is not; returns a maker of invitations and the wave's codes."""
    wave, group, version = make_wave(session), make_group(session), make_version(session, FUZZ_QUESTIONNAIRE)
    units = [make_unit(session), make_unit(session)]
    outside = make_unit(session)
    make_invitation(session, TEST_SECRET, wave=wave, group=group, units=[outside], version=version)
    assignment = session.scalar(select(WaveGroup).filter_by(wave_id=wave.id, group_id=group.id))
    assignment.open_link, assignment.open_quota = True, OPEN_QUOTA
    session.add_all(WaveUnit(wave_id=wave.id, unit_id=u.id) for u in units)
    session.commit()

    class World:
        """The wave's codes and units, and a maker of invitations."""

        wave_code, group_code = wave.code, group.code
        unit_ids = [u.id for u in units]
        unit_codes = [u.code for u in units]
        outside_id, outside_code = outside.id, outside.code

        @staticmethod
        def invite(rated: int = 1):
            """A new invitation to rate the first `rated` units: (invitation id, unit ids, token)."""
            invitation, token = make_invitation(session, TEST_SECRET, wave=wave, group=group,
                                                units=units[:rated], version=version)
            session.commit()
            return invitation.id, [u.id for u in units[:rated]], token

    return World
