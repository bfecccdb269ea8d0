"""`flask users ...`: staff accounts."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.auth.models import ROLES, User, UserRole, record
from survey.auth.passwords import WeakPassword
from survey.db import db
from survey.sampling import service as waves
from survey.sampling.models import Unit


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
@click.option("--unit", "unit_codes", multiple=True, help="A unit in the user's scope (repeatable).")
@click.option("--under", "roots", multiple=True, help="A unit and every unit under it (repeatable).")
@click.password_option()
def create(email, name, roles, all_units, unit_codes, roots, password):
    """Create a staff user with roles and a unit scope (the password must meet the policy)."""
    email = email.strip().lower()
    if db.session.scalar(select(User).filter_by(email=email)) is not None:
        raise click.ClickException(f"a user {email} exists already")
    if not all_units and not (unit_codes or roots):
        raise click.ClickException("a scoped user needs --unit or --under (or give --all-units)")
    user = User(email=email, name=name, all_units=all_units,
                roles=[UserRole(role=r) for r in sorted(set(roles))])
    _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    scope = [] if all_units else _scope(unit_codes, roots)
    if scope:
        waves.set_scope(db.session, user, scope)
    record(db.session, "user.created", target=f"user:{user.id}", roles=sorted(set(roles)),
           units=len(scope) if scope else "all")
    db.session.commit()
    click.echo(f"created {email}" + (f", scoped to {len(scope)} unit(s)" if scope else ", all units"))


@users.command("scope")
@click.argument("email")
@click.option("--unit", "unit_codes", multiple=True, help="A unit in the user's scope (repeatable).")
@click.option("--under", "roots", multiple=True, help="A unit and every unit under it (repeatable).")
def scope_command(email, unit_codes, roots):
    """Replace a user's unit scope with these units."""
    if not (unit_codes or roots):
        raise click.ClickException("give --unit or --under")
    user = _user(email)
    scope = _scope(unit_codes, roots)
    waves.set_scope(db.session, user, scope)
    record(db.session, "user.scoped", target=f"user:{user.id}", units=len(scope))
    db.session.commit()
    click.echo(f"{user.email}: scoped to {len(scope)} unit(s)")


def _scope(unit_codes, roots) -> list[Unit]:
    """Resolve unit codes and subtrees into units, or stop naming the unknown code."""
    found = {}
    try:
        for root in roots:
            found |= {u.id: u for u in waves.subtree(db.session, root)}
    except waves.WaveError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    for code in unit_codes:
        unit = db.session.scalar(select(Unit).filter_by(code=code))
        if unit is None:
            db.session.rollback()
            raise click.ClickException(f"no unit {code}")
        found[unit.id] = unit
    return sorted(found.values(), key=lambda u: u.code)


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
