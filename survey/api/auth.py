"""Bearer-token authentication and role declarations for the JSON API.

Every API view declares its roles with ``api_roles(...)`` (admins always pass), which the
authorisation test and ``check_declared`` read like ``roles_required`` on the pages. The API never
uses the login session: a request is a staff member's only through ``Authorization: Bearer
<token>`` (survey/auth/api_tokens.py), so a browser's session cookie gives no access to it and
the API needs no CSRF protection.
"""

from functools import wraps

from flask import current_app, g, request
from flask_smorest import abort

from survey.auth import api_tokens
from survey.auth.models import User
from survey.db import db


def bearer_user() -> User:
    """Return the user of the request's bearer token, or answer 401."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    row = None
    if scheme.lower() == "bearer" and secret.strip():
        row = api_tokens.authenticate(db.session, current_app.config["TOKEN_KEY"], secret.strip())
    if row is None:
        abort(401, message="A valid bearer token is required.")
    db.session.commit()  # keep last_used_at (written at most once a minute)
    return row.user


def api_user() -> User:
    """The user the current API request acts for (set by ``api_roles``)."""
    return g.api_user


def api_roles(*roles: str):
    """Let through requests whose token belongs to a user holding one of the roles (admins always)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = bearer_user()
            if not user.has_role(*roles):
                abort(403, message="This token's user may not use this endpoint.")
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.access_roles = frozenset(roles) | {"admin"}
        return wrapped

    return decorator


def auth_failed(response) -> bool:
    """Tell the rate limiter to count a request whose token was missing or wrong."""
    return response.status_code == 401
