"""Staff API tokens: created by a user for themselves, shown once, stored only as a keyed hash.

A token is ``par_`` followed by 256 random bits (URL-safe base64). The database keeps its keyed
hash (``survey.sampling.tokens.token_hash`` with the purpose ``api``, keyed by ``TOKEN_KEY``), a
name, an expiry (at most a year), the time it was revoked and when it was last used (to the
minute: one write a minute at most, not one per request). A token works only while it is neither
expired nor revoked and its user is active; it carries its user's roles and unit scope, nothing
more. Deactivating a user or resetting their password revokes their tokens
(survey/auth/staff.py).

Services flush, never commit.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from survey.auth.models import User, record
from survey.db import Base
from survey.sampling.tokens import token_hash

PREFIX = "par_"
TOKEN_BYTES = 32
MAX_DAYS = 365
NAME_LENGTH = 100
USED_PRECISION = timedelta(minutes=1)


class ApiToken(Base):
    """A bearer token a staff member uses for the JSON API (/api/v1)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 default=lambda: datetime.now(UTC))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    def state(self, now: datetime | None = None) -> str:
        """Return "active", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if _aware(self.expires_at) <= (now or datetime.now(UTC)) else "active"


class TokenError(ValueError):
    """A token request the service refuses; ``reason`` names why (for a translated message)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class NewToken:
    """A token just created: the row and the secret, which is never stored nor shown again."""

    row: ApiToken
    secret: str


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def create(session: Session, key: str, user: User, name: str, days: int,
           actor: User | None = None) -> NewToken:
    """Create a token for the user, valid for `days` days (1 to 365), and audit it."""
    name = (name or "").strip()
    if not name or len(name) > NAME_LENGTH:
        raise TokenError(f"a token needs a name of 1 to {NAME_LENGTH} characters", "name")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"a token lasts 1 to {MAX_DAYS} days, not {days}", "days")
    secret = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = datetime.now(UTC)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(key, secret, "api"),
                   hint=secret[:len(PREFIX) + 4], created_at=now, expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    record(session, "api_token.created", target=f"api_token:{row.id}", user=actor, owner=user.id,
           name=name, days=days)
    return NewToken(row, secret)


def owned(session: Session, user: User) -> list[ApiToken]:
    """Return the user's tokens, newest first."""
    return list(session.scalars(select(ApiToken).filter_by(user_id=user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke(session: Session, token: ApiToken, actor: User | None = None) -> bool:
    """Revoke a token and audit it; return False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = datetime.now(UTC)
    record(session, "api_token.revoked", target=f"api_token:{token.id}", user=actor, owner=token.user_id)
    session.flush()
    return True


def revoke_all(session: Session, user: User) -> int:
    """Revoke every token of a user that is not revoked yet; return how many."""
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC)).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def authenticate(session: Session, key: str, secret: str) -> ApiToken | None:
    """Return the token row for a bearer secret when it works (active user, neither expired nor
    revoked), noting when it was used; else None."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    row = session.scalar(select(ApiToken).filter_by(token_hash=token_hash(key, secret, "api")))
    now = datetime.now(UTC)
    if row is None or row.state(now) != "active" or not row.user.active:
        return None
    if row.last_used_at is None or now - _aware(row.last_used_at) >= USED_PRECISION:
        row.last_used_at = now
        session.flush()
    return row
