"""The audit log is append-only, in the ORM and in the database."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from survey.auth.models import AuditLog, AuditLogError, record


def test_record_is_kept(session):
    """A recorded action is stored with its details."""
    record(session, "wave.opened", target="wave:1", reason="test")
    session.commit()
    entry = session.query(AuditLog).one()
    assert (entry.action, entry.target, entry.details) == ("wave.opened", "wave:1", {"reason": "test"})


def test_orm_refuses_update_and_delete(session):
    """Changing or deleting an audit record through the ORM fails before reaching the database."""
    record(session, "x")
    session.commit()
    entry = session.query(AuditLog).one()
    entry.action = "y"
    with pytest.raises(AuditLogError):
        session.flush()
    session.rollback()
    session.delete(session.query(AuditLog).one())
    with pytest.raises(AuditLogError):
        session.flush()


def test_database_refuses_update_and_delete(session):
    """Hand-written SQL cannot change the audit log either (a trigger refuses)."""
    record(session, "x")
    session.commit()
    for statement in ("UPDATE audit_log SET action = 'y'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert session.query(AuditLog).count() == 1
