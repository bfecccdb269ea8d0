"""The JSON API for staff (/api/v1), built with flask-smorest; its OpenAPI 3 document is generated
from the code and served at /api/v1/openapi.json.

Authentication is a bearer token per staff member (survey/api/auth.py); the API has no login
session, hence no CSRF protection (its blueprint is exempt) and no documentation page loading
scripts from elsewhere. Requests from one address whose token is missing or wrong are limited
(``API_AUTH_FAILURE_LIMIT``); past the limit every API request from that address answers 429.
Errors under /api/ are JSON (`{"code", "status", "message"}`, with "errors" for a 422) and never
carry a trace or an exception's text.
"""

import flask_smorest
from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from survey.auth.access import API_PREFIX, public

API_VERSION = "1.0"
BEARER = {"type": "http", "scheme": "bearer",
          "description": "A personal API token, created on the staff page /staff/tokens."}
MESSAGES = {401: "A valid bearer token is required.", 403: "Not allowed for this token's user.",
            404: "Not found.", 429: "Too many requests with a missing or wrong token; wait and retry.",
            500: "Internal error."}
meta = Blueprint("api_meta", __name__, url_prefix=API_PREFIX)


class Api(flask_smorest.Api):
    """flask-smorest's Api, without its app-wide JSON error handler (the pages keep theirs)."""

    def _register_error_handlers(self):
        """Errors are made JSON only under /api/ (see `json_error`), in survey/errors.py."""


@meta.get("/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3 document of the API, generated from the code."""
    return jsonify(current_app.extensions["survey-api"].spec.to_dict())


def is_api_request() -> bool:
    """Tell whether the request is for the JSON API."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def json_error(error: HTTPException | int):
    """Answer an error as JSON: the status, a fixed message, and for a 422 the fields' problems."""
    code = error if isinstance(error, int) else error.code or 500
    data = getattr(error, "data", None) or {}
    payload = {"code": code, "status": _status_name(code),
               "message": MESSAGES.get(code, _status_name(code) + ".")}
    if code == 422 and ("messages" in data or "errors" in data):
        payload["errors"] = data.get("errors") or data.get("messages")
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if code == 401 else {}
    return jsonify(payload), code, headers


def _status_name(code: int) -> str:
    """The standard name of an HTTP status."""
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def init_app(app: Flask) -> None:
    """Set up flask-smorest on the app, register the API and its description, exempt them from CSRF
    (the limit on failed token authentications is attached to the blueprint once, in survey/api/views.py)."""
    from survey.api import views
    from survey.extensions import csrf

    app.config.setdefault("API_TITLE", "PAR INDEX survey API")
    app.config.setdefault("API_VERSION", API_VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # served by `openapi_json`, no UI from elsewhere
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Waves, fieldwork progress by unit, units, and anonymised responses "
                                "for analysts. Every request carries `Authorization: Bearer <token>`."},
        "security": [{"bearerAuth": []}],
    })
    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", BEARER)
    csrf.exempt(views.bp)
    csrf.exempt(meta)
    api.register_blueprint(views.bp)
    app.register_blueprint(meta)
    app.extensions["survey-api"] = api
