"""Extensions, created unbound and attached to an app in create_app."""


from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from survey.db import db

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def select_locale() -> str:
    """Vietnamese first: an explicit choice in the query or the session, else vi."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a flask command: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang") or session.get("lang")
    return wanted if wanted in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def remember_language() -> None:
    """Keep a language picked with ?lang= for the following pages."""
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted


def security_headers(response):
    """Set the headers every response carries.

    Tokens live in URLs, so no referrer leaves the site; but same-origin requests carry one, which
    Flask-WTF's strict check of HTTPS form posts requires. Every page except static files is
    `no-store`: answers and personal data must not stay in the cache of a shared walk-in device.
    """
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not is_static(request.endpoint):
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def is_static(endpoint: str | None) -> bool:
    """Tell whether a request was for a static file (the app's or a blueprint's, or the favicon)."""
    return endpoint is not None and (endpoint in ("static", "favicon") or endpoint.endswith(".static"))


def init_app(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    limiter.init_app(app)
    app.after_request(security_headers)
    app.before_request(remember_language)
    app.context_processor(lambda: {"current_locale": lambda: str(get_locale() or "vi")})
    from survey.auth import lockout
    from survey.auth import models as auth_models

    lockout.init_app(app)

    login_manager.user_loader(auth_models.load_user)
