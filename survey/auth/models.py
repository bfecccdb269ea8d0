"""Staff users with roles and unit scopes; the append-only audit log."""

import contextlib
import secrets
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    event,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.schema import DDL

from survey.auth import passwords
from survey.db import Base, db

ROLES = ("admin", "coordinator", "analyst", "data_entry", "assessor", "approver")
_hasher = PasswordHasher()


class User(Base):
    """A staff member of the Sở Nội vụ or of an agency or commune."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    all_units: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of the id kept in the session cookie: raising it (logout, password change,
    # deactivation) makes every session cookie issued before, copied ones included, stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )

    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan")
    scopes: Mapped[list["UserUnit"]] = relationship(cascade="all, delete-orphan")

    # Flask-Login's interface.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Deactivated users cannot log in; users are never deleted (the audit log names them)."""
        return self.active

    def get_id(self) -> str:
        """Return what Flask-Login keeps in the session: the user id and the session version."""
        return f"{self.id}.{self.session_version or 0}"

    def revoke_sessions(self) -> None:
        """Make every session issued so far invalid (the caller commits)."""
        self.session_version = (self.session_version or 0) + 1

    def deactivate(self) -> None:
        """Stop the user logging in, and end their open sessions."""
        self.active = False
        self.revoke_sessions()

    def set_password(self, password: str) -> None:
        """Store an Argon2id hash of a password that meets the policy; a change ends open sessions.

        Raises ``passwords.WeakPassword`` when the password breaks the policy.
        """
        passwords.check(password, email=self.email or "", name=self.name or "")
        if self.password_hash:
            self.revoke_sessions()
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        """Verify a password against the stored hash."""
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def has_role(self, *roles: str) -> bool:
        """Tell whether the user holds any of the roles (admins hold them all)."""
        held = {r.role for r in self.roles}
        return "admin" in held or bool(held.intersection(roles))

    @property
    def sees_all_units(self) -> bool:
        """Tell whether the user's scope is every unit (all_units, or an administrator)."""
        return self.all_units or any(r.role == "admin" for r in self.roles)

    @property
    def unit_scope(self) -> list[int] | None:
        """Return the ids of the units in the user's scope, or None for every unit (for queries)."""
        return None if self.sees_all_units else sorted(s.unit_id for s in self.scopes)

    def may_see_unit(self, unit_id: int) -> bool:
        """Tell whether the unit is within the user's scope."""
        return self.sees_all_units or any(s.unit_id == unit_id for s in self.scopes)


class UserRole(Base):
    """A role held by a user."""

    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(map(repr, ROLES))})", name="role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class UserUnit(Base):
    """A unit within a user's scope (a focal official sees only their agency or commune)."""

    __tablename__ = "user_units"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class AuditLog(Base):
    """An append-only record of what staff did; rows are never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict | None] = mapped_column(JSON)


# The database itself refuses changes, so that no code path (nor a hand-typed SQL) can rewrite history.
APPEND_ONLY_SQLITE = [
    f"CREATE TRIGGER audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for op in ("UPDATE", "DELETE")
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
for _statement in APPEND_ONLY_SQLITE:
    event.listen(AuditLog.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in APPEND_ONLY_POSTGRESQL:
    event.listen(
        AuditLog.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )


class AuditLogError(RuntimeError):
    """Raised when code tries to change or delete an audit record."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _context, _instances) -> None:
    """Refuse, before the database does, to update or delete audit records."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogError("audit_log is append-only")


def record(
    session: Session, action: str, target: str | None = None, user: User | None = None,
    at: datetime | None = None, **details
) -> None:
    """Add an audit record to the session; the caller's transaction commits it.

    `at` defaults to now; pass a coarser time (an hour) where a precise one could be joined to a
    response.
    """
    session.add(
        AuditLog(
            action=action,
            target=target,
            user_id=user.id if user is not None else None,
            details=details or None,
            at=at or datetime.now(UTC),
        )
    )


def load_user(session_id: str) -> User | None:
    """Load the logged-in user for Flask-Login, if active and the session version is current."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user


@cache
def _dummy_hash() -> str:
    """An Argon2 hash of a random password, with the same parameters as real ones."""
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, else None.

    The time taken does not tell whether the e-mail exists: without a user (or with a deactivated
    one) the password is still verified, against a dummy hash with the same Argon2 parameters.
    """
    user = session.scalar(select(User).filter_by(email=email))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None
