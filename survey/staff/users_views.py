"""Staff accounts for administrators: list, create, change roles and unit scope, deactivate and
reactivate, reset a password.

Every change goes through survey/auth/staff.py (which audits it) and is committed here once; a
refusal shows its reason and writes nothing. A new or reset password is either typed by the
administrator (it must meet the policy) or generated, and a generated one is shown once, on the
answer to the form, never in a redirect, a flash message or a log.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from survey.auth import staff
from survey.auth.access import roles_required
from survey.auth.models import ROLES, User
from survey.auth.passwords import MAX_LENGTH, WeakPassword
from survey.db import db
from survey.respond.forms import CheckboxesField
from survey.sampling.models import Unit
from survey.sampling.views import _named

bp = Blueprint("users", __name__, url_prefix="/staff/users")
ADMINS = ("admin",)
ROLE_NAMES = {
    "admin": _l("Quản trị hệ thống"), "coordinator": _l("Điều phối khảo sát"), "analyst": _l("Phân tích"),
    "data_entry": _l("Nhập phiếu"), "assessor": _l("Chấm điểm tự đánh giá"),
    "approver": _l("Thẩm định, phê duyệt"),
}


class AccountForm(FlaskForm):
    """A user's name, roles and unit scope (every unit, or the subtrees of the chosen units)."""

    name = StringField(_l("Họ và tên"), validators=[InputRequired(_l("Xin nhập họ và tên.")),
                                                    Length(max=255)])
    # At least one role: the service refuses none (a `required` on each checkbox would be wrong).
    roles = CheckboxesField(_l("Vai trò"), choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES],
                            validators=[Optional()])
    all_units = BooleanField(_l("Mọi đơn vị"))
    units = SelectMultipleField(_l("Hoặc các đơn vị (mỗi đơn vị kèm mọi đơn vị trực thuộc)"), coerce=int,
                                validators=[Optional()], render_kw={"size": 12})


class NewAccountForm(AccountForm):
    """A new user: also the e-mail they log in with and, optionally, a first password."""

    email = EmailField(_l("Thư điện tử (tên đăng nhập)"), validators=[
        InputRequired(_l("Xin nhập thư điện tử.")), Length(max=255)])
    password = PasswordField(_l("Mật khẩu (để trống: tạo ngẫu nhiên và hiển thị một lần)"),
                             validators=[Optional(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "new-password"})


class PasswordForm(FlaskForm):
    """A new password, or none to generate one."""

    password = PasswordField(_l("Mật khẩu mới (để trống: tạo ngẫu nhiên và hiển thị một lần)"),
                             validators=[Optional(), Length(max=MAX_LENGTH)],
                             render_kw={"autocomplete": "new-password"})


class ActiveForm(FlaskForm):
    """Deactivate ("0") or reactivate ("1") an account."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])


def refusal(exc: staff.StaffError) -> str:
    """Say in the user's language why the service refused a change."""
    messages = {
        "email": lambda: _("Địa chỉ thư điện tử không hợp lệ."),
        "email_taken": lambda: _("Đã có tài khoản với thư điện tử %(email)s.", email=exc.params["email"]),
        "name": lambda: _("Xin nhập họ và tên."),
        "roles": lambda: _("Xin chọn ít nhất một vai trò."),
        "no_scope": lambda: _("Xin chọn “Mọi đơn vị” hoặc ít nhất một đơn vị."),
        "no_unit": lambda: _("Không có đơn vị mã %(unit)s.", unit=exc.params["unit"]),
        "last_admin": lambda: _("Đây là tài khoản quản trị cuối cùng còn hoạt động: không thể khóa tài "
                                "khoản này hay bỏ vai trò quản trị."),
    }
    return messages.get(exc.reason, lambda: _("Không thực hiện được thay đổi này."))()


def _tree_choices() -> list[SelectChoice]:
    """Every unit, in tree order, indented under its parent."""
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    known = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in known else None, []).append(unit)
    found, todo = [], [(u, 0) for u in reversed(children.get(None, []))]
    while todo:
        unit, depth = todo.pop()
        found.append(SelectChoice(unit.id, "\u2003" * depth + f"{unit.code} — {_named(unit)}"))
        todo.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return found


def _chosen_units(form: AccountForm) -> list[Unit]:
    """The chosen units with everything under them (none when "every unit" is ticked)."""
    if form.all_units.data or not form.units.data:
        return []
    codes = db.session.scalars(select(Unit.code).where(Unit.id.in_(form.units.data))).all()
    return staff.resolve_scope(db.session, roots=codes)


def _user_or_404(user_id: int) -> User:
    """Return the user, or 404."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _roots(user: User) -> list[Unit]:
    """The tops of the subtrees in a user's scope."""
    return staff.scope_roots(db.session, user)


def _list():
    """Render the list of accounts."""
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.name, User.email)).all()
    return render_template("staff/users.html", users=users, last_login=staff.last_logins(db.session),
                           roots={u.id: _roots(u) for u in users if not u.sees_all_units},
                           role_names=ROLE_NAMES)


@bp.get("/")
@roles_required(*ADMINS)
def index():
    """Every account: name, login, roles, scope, whether active, last login."""
    return _list()


def _form_page(form: AccountForm, user: User | None = None, status: int = 200,
               errors: list[str] | None = None):
    """Render the creation page (no user) or a user's page, with its other forms."""
    if form.units.choices is None:
        form.units.choices = _tree_choices()
    last_login = staff.last_logins(db.session, [user.id]).get(user.id) if user is not None else None
    return render_template("staff/user.html", form=form, user=user, errors=errors or [],
                           password_form=PasswordForm(formdata=None), active_form=ActiveForm(formdata=None),
                           role_names=ROLE_NAMES, roots=_roots(user) if user is not None else [],
                           last_login=last_login), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def create():
    """Create an account; a generated first password is shown once."""
    form = NewAccountForm()
    form.units.choices = _tree_choices()
    if not form.validate_on_submit():
        return _form_page(form, status=422 if form.is_submitted() else 200)
    password = form.password.data or staff.generate_password(form.email.data.strip().lower(), form.name.data)
    try:
        user = staff.create_user(db.session, form.email.data, form.name.data, form.roles.data,
                                 bool(form.all_units.data), _chosen_units(form), password, actor=current_user)
    except staff.StaffError as exc:
        db.session.rollback()
        return _form_page(form, status=422, errors=[refusal(exc)])
    except WeakPassword as weak:
        db.session.rollback()
        form.password.errors = [str(p) for p in weak.problems]
        return _form_page(form, status=422)
    db.session.commit()
    if form.password.data:
        flash(_("Đã tạo tài khoản %(email)s.", email=user.email), "status")
        return redirect(url_for(".edit", user_id=user.id), 303)
    return render_template("staff/password_shown.html", user=user, password=password, created=True)


def _account_data(user: User) -> dict:
    """What the account form shows for a user (their scope as the tops of its subtrees)."""
    return {"name": user.name, "roles": sorted(r.role for r in user.roles), "all_units": user.all_units,
            "units": [u.id for u in _roots(user)]}


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit(user_id: int):
    """A user's name, roles and scope; the forms to deactivate, reactivate and reset the password."""
    user = _user_or_404(user_id)
    form = AccountForm(data=_account_data(user))
    form.units.choices = _tree_choices()
    if not form.is_submitted():
        return _form_page(form, user)
    if not form.validate():
        return _form_page(form, user, 422)
    try:
        staff.update_user(db.session, user, form.name.data, form.roles.data, bool(form.all_units.data),
                          _chosen_units(form), actor=current_user)
    except staff.StaffError as exc:
        db.session.rollback()
        return _form_page(form, _user_or_404(user_id), 422, [refusal(exc)])
    db.session.commit()
    flash(_("Đã lưu tài khoản %(email)s.", email=user.email), "status")
    return redirect(url_for(".edit", user_id=user.id), 303)


@bp.post("/<int:user_id>/active")
@roles_required(*ADMINS)
def set_active(user_id: int):
    """Deactivate (sessions end, API tokens revoked) or reactivate an account."""
    user = _user_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        staff.set_active(db.session, user, form.active.data == "1", actor=current_user)
    except staff.StaffError as exc:
        db.session.rollback()
        user = _user_or_404(user_id)
        return _form_page(AccountForm(formdata=None, data=_account_data(user)), user, 422, [refusal(exc)])
    db.session.commit()
    flash(_("Đã mở lại tài khoản %(email)s.", email=user.email) if user.active
          else _("Đã khóa tài khoản %(email)s.", email=user.email), "status")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:user_id>/password")
@roles_required(*ADMINS)
def password(user_id: int):
    """Set or generate a new password; the user's sessions end and their API tokens are revoked."""
    user = _user_or_404(user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        chosen = staff.reset_password(db.session, user, form.password.data or None, actor=current_user)
    except WeakPassword as weak:
        db.session.rollback()
        user = _user_or_404(user_id)
        return _form_page(AccountForm(formdata=None, data=_account_data(user)), user, 422,
                          [str(p) for p in weak.problems])
    db.session.commit()
    if form.password.data:
        flash(_("Đã đặt mật khẩu mới cho %(email)s.", email=user.email), "status")
        return redirect(url_for(".edit", user_id=user.id), 303)
    return render_template("staff/password_shown.html", user=user, password=chosen, created=False)
