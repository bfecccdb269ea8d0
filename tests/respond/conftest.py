"""Fixtures shared by the answering tests (a file may still define its own `invited`, as
test_failed_submission.py does for an invitation whose commune is in the wave)."""

import pytest

from tests.conftest import TEST_SECRET
from tests.factories import make_invitation


@pytest.fixture
def invited(session):
    """An invitation to rate one commune with the small questionnaire; returns (invitation, token)."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    return invitation, token
