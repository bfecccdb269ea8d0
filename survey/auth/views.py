"""Staff login and logout."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select

from survey.auth.forms import LoginForm
from survey.auth.models import User, record
from survey.db import db
from survey.extensions import limiter

bp = Blueprint("auth", __name__, url_prefix="/staff")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    """Log a staff member in; the same message for an unknown e-mail and a wrong password."""
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            record(db.session, "auth.login", target=f"user:{user.id}", user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Thư điện tử hoặc mật khẩu không đúng."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """Log out."""
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site (no open redirect)."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("staff.home")
