"""Staff login and logout."""

import math
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from survey.auth import lockout
from survey.auth.access import public
from survey.auth.forms import LoginForm
from survey.auth.models import User, authenticate, record
from survey.db import db
from survey.extensions import limiter

bp = Blueprint("auth", __name__, url_prefix="/staff")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def login():
    """Log a staff member in; the same message, and the same time, for an unknown e-mail.

    An account with too many failed logins is locked for a while (see survey.auth.lockout): the
    password is then not even checked.
    """
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        locks = lockout.current()
        wait = locks.locked_for(email)
        if wait:
            flash(_("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %(minutes)s phút.",
                    minutes=math.ceil(wait / 60)), "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(db.session, email, form.password.data)
        if user is not None:
            locks.succeeded(email)
            login_user(user)
            record(db.session, "auth.login", target=f"user:{user.id}", user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        if locks.failed(email):
            _record_lock(email)
        flash(_("Thư điện tử hoặc mật khẩu không đúng."), "error")
    return render_template("auth/login.html", form=form)


def _record_lock(email: str) -> None:
    """Note in the audit log that an existing account was locked (unknown e-mails are not logged)."""
    user = db.session.scalar(select(User).filter_by(email=email))
    if user is not None:
        record(db.session, "auth.locked", target=f"user:{user.id}")
        db.session.commit()


@bp.post("/logout")
@public
def logout():
    """Log out, and end every session of the user: a copied session cookie stops working too."""
    if current_user.is_authenticated:
        current_user.revoke_sessions()
        record(db.session, "auth.logout", target=f"user:{current_user.id}", user=current_user)
        db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site (no open redirect)."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("staff.home")
