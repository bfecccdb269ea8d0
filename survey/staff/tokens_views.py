"""A staff member's own API tokens: create one (shown once), see when each was last used, revoke.

Each user manages only their own tokens (another user's token answers 404). A token acts with its
user's roles and unit scope in the JSON API (survey/api). Creating and revoking are audited by the
service (survey/auth/api_tokens.py).
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from survey.auth import api_tokens
from survey.auth.access import roles_required
from survey.db import db

bp = Blueprint("tokens", __name__, url_prefix="/staff/tokens")
EVERYONE = ("coordinator", "analyst", "data_entry", "assessor", "approver")
STATE_NAMES = {"active": _l("Đang dùng được"), "expired": _l("Đã hết hạn"), "revoked": _l("Đã thu hồi")}


class TokenForm(FlaskForm):
    """A new token: what it is for and how long it lasts."""

    name = StringField(_l("Dùng cho việc gì"), validators=[
        InputRequired(_l("Xin đặt tên cho mã truy cập.")), Length(max=api_tokens.NAME_LENGTH)])
    days = IntegerField(_l("Số ngày hiệu lực (1–365)"), default=90, validators=[
        InputRequired(_l("Xin nhập số ngày hiệu lực.")),
        NumberRange(1, api_tokens.MAX_DAYS, _l("Số ngày hiệu lực từ 1 đến 365."))])


class RevokeForm(FlaskForm):
    """A button that only carries the form token."""


def _page(form: TokenForm, status: int = 200, secret: str | None = None):
    """Render the user's tokens, the creation form and, once, a token just created."""
    return render_template("staff/tokens.html", tokens=api_tokens.owned(db.session, current_user),
                           form=form, revoke_form=RevokeForm(formdata=None), secret=secret,
                           state_names=STATE_NAMES), status


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    """The user's tokens with their state, expiry and last use."""
    return _page(TokenForm(formdata=None))


@bp.post("/")
@roles_required(*EVERYONE)
def create():
    """Create a token and show it this once (201); only its keyed hash is stored."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    made = api_tokens.create(db.session, current_app.config["TOKEN_KEY"], current_user, form.name.data,
                             form.days.data, actor=current_user)
    db.session.commit()
    return _page(TokenForm(formdata=None), 201, secret=made.secret)


@bp.post("/<int:token_id>/revoke")
@roles_required(*EVERYONE)
def revoke(token_id: int):
    """Revoke one of the user's own tokens."""
    token = db.session.get(api_tokens.ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if not RevokeForm().validate_on_submit():
        abort(400)
    api_tokens.revoke(db.session, token, actor=current_user)
    db.session.commit()
    flash(_("Đã thu hồi mã truy cập “%(name)s”.", name=token.name), "status")
    return redirect(url_for(".index"), 303)
