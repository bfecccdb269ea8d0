"""`flask users ...`: staff accounts."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.auth.models import ROLES, User, UserRole, record
from survey.auth.passwords import WeakPassword
from survey.db import db


@click.group("users", cls=AppGroup)
def users():
    """Staff accounts."""


def _user(email: str) -> User:
    """Return the user with the e-mail, or stop with a clear message."""
    user = db.session.scalar(select(User).filter_by(email=email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


def _set_password(user: User, password: str) -> None:
    """Set a password that meets the policy, or stop listing what is wrong with it."""
    try:
        user.set_password(password)
    except WeakPassword as weak:
        raise click.ClickException("password refused: " + " ".join(str(p) for p in weak.problems)) from None


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), required=True)
@click.option("--all-units/--scoped", default=False)
@click.password_option()
def create(email, name, roles, all_units, password):
    """Create a staff user with roles (the password must meet the policy)."""
    email = email.strip().lower()
    if db.session.scalar(select(User).filter_by(email=email)) is not None:
        raise click.ClickException(f"a user {email} exists already")
    user = User(email=email, name=name, all_units=all_units,
                roles=[UserRole(role=r) for r in sorted(set(roles))])
    _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    record(db.session, "user.created", target=f"user:{user.id}", roles=sorted(set(roles)))
    db.session.commit()
    click.echo(f"created {email}")


@users.command("password")
@click.argument("email")
@click.password_option()
def password_command(email, password):
    """Set a user's password; their open sessions end."""
    user = _user(email)
    _set_password(user, password)
    record(db.session, "user.password_changed", target=f"user:{user.id}")
    db.session.commit()
    click.echo(f"password changed for {user.email}")


@users.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Stop a user logging in and end their open sessions (users are never deleted)."""
    user = _user(email)
    user.deactivate()
    record(db.session, "user.deactivated", target=f"user:{user.id}")
    db.session.commit()
    click.echo(f"deactivated {user.email}")
