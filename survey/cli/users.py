"""`flask users ...`: staff accounts and their API tokens (the work is in survey/auth/staff.py)."""

from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup

from survey.auth import api_tokens, staff
from survey.auth.models import ROLES, User
from survey.auth.passwords import WeakPassword
from survey.db import db


@click.group("users", cls=AppGroup)
def users():
    """Staff accounts."""


@contextmanager
def _refusals():
    """Turn a refusal of the service into a clear message; nothing is written."""
    try:
        yield
    except WeakPassword as weak:
        db.session.rollback()
        raise click.ClickException("password refused: " + " ".join(str(p) for p in weak.problems)) from None
    except (staff.StaffError, api_tokens.TokenError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None


def _user(email: str) -> User:
    """Return the user with the e-mail, or stop with a clear message."""
    user = staff.find(db.session, email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


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
    if not all_units and not (unit_codes or roots):
        raise click.ClickException("a scoped user needs --unit or --under (or give --all-units)")
    with _refusals():
        scope = [] if all_units else staff.resolve_scope(db.session, unit_codes, roots)
        user = staff.create_user(db.session, email, name, roles, all_units, scope, password)
    db.session.commit()
    click.echo(f"created {user.email}" + (f", scoped to {len(scope)} unit(s)" if scope else ", all units"))


@users.command("scope")
@click.argument("email")
@click.option("--unit", "unit_codes", multiple=True, help="A unit in the user's scope (repeatable).")
@click.option("--under", "roots", multiple=True, help="A unit and every unit under it (repeatable).")
def scope_command(email, unit_codes, roots):
    """Replace a user's unit scope with these units."""
    if not (unit_codes or roots):
        raise click.ClickException("give --unit or --under")
    user = _user(email)
    with _refusals():
        scope = staff.resolve_scope(db.session, unit_codes, roots)
        staff.set_scope(db.session, user, scope)
    db.session.commit()
    click.echo(f"{user.email}: scoped to {len(scope)} unit(s)")


@users.command("password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="Generate a strong one-time password and print it.")
@click.password_option(required=False, prompt_required=False)
def password_command(email, generate, password):
    """Set a user's password (or generate one); their open sessions end and their API tokens stop."""
    user = _user(email)
    if not generate and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _refusals():
        chosen = staff.reset_password(db.session, user, None if generate else password)
    db.session.commit()
    click.echo(f"password changed for {user.email}")
    if generate:
        click.echo(f"one-time password (give it to the user, it is not shown again): {chosen}")


@users.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Stop a user logging in, end their open sessions, revoke their API tokens (users are never deleted)."""
    user = _user(email)
    with _refusals():
        staff.set_active(db.session, user, False)
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@users.command("reactivate")
@click.argument("email")
def reactivate(email):
    """Let a deactivated user log in again (their old sessions and tokens stay ended)."""
    user = _user(email)
    staff.set_active(db.session, user, True)
    db.session.commit()
    click.echo(f"reactivated {user.email}")


@users.group("token", cls=AppGroup)
def token():
    """API tokens (for the JSON API under /api/v1)."""


@token.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for (shown in the list of tokens).")
@click.option("--days", default=90, show_default=True, type=int, help="Days until it expires (1 to 365).")
def token_create(email, name, days):
    """Create an API token for a user and print it once (only its keyed hash is stored)."""
    user = _user(email)
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated")
    with _refusals():
        made = api_tokens.create(db.session, current_app.config["TOKEN_KEY"], user, name, days)
    db.session.commit()
    click.echo(f"token {made.row.hint}… for {user.email}, expires {made.row.expires_at:%Y-%m-%d}")
    click.echo(made.secret)
