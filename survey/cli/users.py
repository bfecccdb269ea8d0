"""`flask users create`: staff accounts."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.auth.models import ROLES, User, UserRole, record
from survey.db import db


@click.group("users", cls=AppGroup)
def users():
    """Staff accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), required=True)
@click.option("--all-units/--scoped", default=False)
@click.password_option()
def create(email, name, roles, all_units, password):
    """Create a staff user with roles."""
    email = email.strip().lower()
    if db.session.scalar(select(User).filter_by(email=email)) is not None:
        raise click.ClickException(f"a user {email} exists already")
    user = User(email=email, name=name, all_units=all_units,
                roles=[UserRole(role=r) for r in sorted(set(roles))])
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(db.session, "user.created", target=f"user:{user.id}", roles=sorted(set(roles)))
    db.session.commit()
    click.echo(f"created {email}")
