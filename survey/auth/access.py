"""Access rules as decorators, and the declaration every staff route must carry.

Every view under ``/staff`` declares who may use it, with ``roles_required(...)`` or ``public``
(under ``/api/v1``, with ``survey.api.auth.api_roles(...)`` or ``public``: bearer tokens, no login
session); ``check_declared`` refuses to start an app with a staff or API route that declares nothing, and
``tests/test_authorisation.py`` checks each declaration against the expected table and the
answers of every role, in and out of unit scope.
"""

from functools import wraps

from flask import Flask, abort
from flask_login import current_user, login_required

STAFF_PREFIX = "/staff"
API_PREFIX = "/api/v1"


def roles_required(*roles: str):
    """Let through logged-in users holding one of the roles (admins always)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.access_roles = frozenset(roles) | {"admin"}
        return wrapped

    return decorator


def public(view):
    """Declare a staff-side view open without login (the login page, logout, the API's description)."""
    view.access_roles = "public"
    return view


def declared_access(app: Flask) -> dict[str, frozenset[str] | str | None]:
    """Return every staff and API endpoint with the roles it declares ("public", or None when undeclared)."""
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith((STAFF_PREFIX, API_PREFIX)):
            found[rule.endpoint] = getattr(app.view_functions[rule.endpoint], "access_roles", None)
    return found


def check_declared(app: Flask) -> None:
    """Refuse a staff or API route that does not declare who may use it."""
    missing = sorted(endpoint for endpoint, roles in declared_access(app).items() if roles is None)
    if missing:
        raise RuntimeError("staff or API routes without roles_required, api_roles or public: "
                           + ", ".join(missing))
