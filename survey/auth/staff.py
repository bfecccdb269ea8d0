"""Managing staff accounts: create, roles and unit scope, deactivate and reactivate, reset a password.

The admin pages (survey/staff/users_views.py) and `flask users ...` (survey/cli/users.py) both call
these functions. Each validates everything first and raises `StaffError` (or
`passwords.WeakPassword`) before changing anything, writes its audit entry, and flushes; the caller
commits. The last active administrator can be neither deactivated nor stripped of the admin role
(nobody could manage accounts afterwards). Ending a user's access ends their sessions
(`User.session_version`) and revokes their API tokens.
"""

import re
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.auth import api_tokens, passwords
from survey.auth.models import ROLES, AuditLog, User, UserRole, record
from survey.sampling import service as waves
from survey.sampling.models import Unit

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GENERATED_BYTES = 15  # 20 characters of URL-safe base64: 120 bits


class StaffError(ValueError):
    """A change to an account the service refuses; ``reason`` and ``params`` give a translated message."""

    def __init__(self, message: str, reason: str, **params):
        super().__init__(message)
        self.reason, self.params = reason, params


def find(session: Session, email: str) -> User | None:
    """Return the user with this e-mail (case and spaces ignored), or None."""
    return session.scalar(select(User).filter_by(email=(email or "").strip().lower()))


def resolve_scope(session: Session, unit_codes=(), roots=()) -> list[Unit]:
    """Resolve unit codes and subtrees (a unit and everything under it) into units, by code."""
    found = {}
    for root in roots:
        try:
            found |= {u.id: u for u in waves.subtree(session, root)}
        except waves.WaveError:
            raise StaffError(f"no unit {root}", "no_unit", unit=root) from None
    for code in unit_codes:
        unit = session.scalar(select(Unit).filter_by(code=code))
        if unit is None:
            raise StaffError(f"no unit {code}", "no_unit", unit=code)
        found[unit.id] = unit
    return sorted(found.values(), key=lambda u: u.code)


def scope_roots(session: Session, user: User) -> list[Unit]:
    """Return the tops of the subtrees a user's scope is made of (units whose parent is outside it)."""
    ids = {s.unit_id for s in user.scopes}
    if not ids:
        return []
    units = session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)).all()
    return [u for u in units if u.parent_id not in ids]


def _check_roles(roles) -> list[str]:
    """Return the roles sorted, or refuse none or an unknown one."""
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise StaffError(f"roles must be some of {', '.join(ROLES)}", "roles")
    return roles


def _check_scope(roles: list[str], all_units: bool, units: list[Unit]) -> None:
    """A user who is neither an administrator nor all-units needs at least one unit."""
    if not all_units and "admin" not in roles and not units:
        raise StaffError("a scoped user needs at least one unit", "no_scope")


def _other_active_admins(session: Session, user: User) -> int:
    """Count the active administrators other than this user."""
    return session.scalar(
        select(func.count()).select_from(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True), User.id != user.id)) or 0


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse a change that would leave no active administrator."""
    is_admin = any(r.role == "admin" for r in user.roles)
    if user.active and is_admin and _other_active_admins(session, user) == 0:
        raise StaffError("the last active administrator must stay an active administrator", "last_admin")


def create_user(session: Session, email: str, name: str, roles, all_units: bool, units: list[Unit],
                password: str, actor: User | None = None) -> User:
    """Create an active user with roles, a scope (every unit, or these units) and a password."""
    email = (email or "").strip().lower()
    name = (name or "").strip()
    if not EMAIL.match(email) or len(email) > 255:
        raise StaffError(f"not an e-mail address: {email}", "email")
    if not name or len(name) > 255:
        raise StaffError("a user needs a name", "name")
    roles = _check_roles(roles)
    _check_scope(roles, all_units, units)
    if find(session, email) is not None:
        raise StaffError(f"a user {email} exists already", "email_taken", email=email)
    passwords.check(password, email=email, name=name)
    user = User(email=email, name=name, all_units=all_units, active=True,
                roles=[UserRole(role=r) for r in roles])
    user.set_password(password)
    session.add(user)
    session.flush()
    if not all_units and units:
        waves.set_scope(session, user, units)
    record(session, "user.created", target=f"user:{user.id}", user=actor, roles=roles,
           units=len(units) if not all_units else "all")
    session.flush()
    return user


def update_user(session: Session, user: User, name: str, roles, all_units: bool, units: list[Unit],
                actor: User | None = None) -> None:
    """Replace a user's name, roles and unit scope (every unit, or these units)."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise StaffError("a user needs a name", "name")
    roles = _check_roles(roles)
    _check_scope(roles, all_units, units)
    if "admin" not in roles:
        _keep_an_admin(session, user)
    before = sorted(r.role for r in user.roles)
    user.name = name
    user.roles = [r for r in user.roles if r.role in roles]
    user.roles += [UserRole(role=r) for r in roles if r not in before]
    if all_units or not units:
        user.scopes = []
        user.all_units = all_units
    else:
        waves.set_scope(session, user, units)
    record(session, "user.updated", target=f"user:{user.id}", user=actor, roles=roles,
           roles_before=before, units=len(units) if not all_units else "all")
    session.flush()


def set_scope(session: Session, user: User, units: list[Unit], actor: User | None = None) -> None:
    """Replace a user's unit scope with these units (no longer every unit)."""
    if not units:
        raise StaffError("a scoped user needs at least one unit", "no_scope")
    waves.set_scope(session, user, units)
    record(session, "user.scoped", target=f"user:{user.id}", user=actor, units=len(units))
    session.flush()


def set_active(session: Session, user: User, active: bool, actor: User | None = None) -> bool:
    """Deactivate (sessions end, API tokens revoked) or reactivate a user; False when nothing changes."""
    if user.active == active:
        return False
    if active:
        user.active = True
        record(session, "user.reactivated", target=f"user:{user.id}", user=actor)
    else:
        _keep_an_admin(session, user)
        user.deactivate()
        revoked = api_tokens.revoke_all(session, user)
        record(session, "user.deactivated", target=f"user:{user.id}", user=actor, tokens_revoked=revoked)
    session.flush()
    return True


def generate_password(email: str, name: str) -> str:
    """Return a random password of 120 bits that meets the policy for this account."""
    while True:
        candidate = secrets.token_urlsafe(GENERATED_BYTES)
        if not passwords.problems(candidate, email=email, name=name):
            return candidate


def reset_password(session: Session, user: User, password: str | None = None,
                   actor: User | None = None) -> str:
    """Set a password (generated when none is given) that meets the policy; return it.

    The user's open sessions end and their API tokens are revoked. A generated password is for
    showing once: it is stored only as its hash.
    """
    generated = password is None
    password = generate_password(user.email, user.name) if generated else password
    user.set_password(password)  # raises WeakPassword, changing nothing; else ends the sessions
    revoked = api_tokens.revoke_all(session, user)
    record(session, "user.password_changed", target=f"user:{user.id}", user=actor, generated=generated,
           tokens_revoked=revoked)
    session.flush()
    return password


def last_logins(session: Session, user_ids: list[int] | None = None) -> dict[int, datetime]:
    """Return each user's (or these users') last login, from the audit log; users who never logged
    in are absent."""
    query = select(AuditLog.user_id, func.max(AuditLog.at)).where(AuditLog.action == "auth.login",
                                                                  AuditLog.user_id.is_not(None))
    if user_ids is not None:
        query = query.where(AuditLog.user_id.in_(user_ids))
    return dict(session.execute(query.group_by(AuditLog.user_id)).all())
