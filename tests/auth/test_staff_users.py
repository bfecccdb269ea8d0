"""Staff accounts pages for administrators: list, create, roles and scope, deactivate, reset password."""

import re

import pytest
from sqlalchemy import select

from survey.auth import api_tokens
from survey.auth.models import AuditLog, User
from tests.conftest import TEST_SECRET
from tests.factories import STAFF_PASSWORD, csrf_token, log_in, make_staff, make_unit

SECRET = re.compile(r'class="secret">([^<]+)<')


@pytest.fixture
def tree(session):
    """A province with two communes, and a lone commune elsewhere."""
    province = make_unit(session, code="P01", name="Tỉnh Thử", kind="province")
    inside = [make_unit(session, code=f"P01-{n}", parent_id=province.id) for n in (1, 2)]
    lone = make_unit(session, code="Z99", name="Xã Lẻ")
    session.commit()
    return province, inside, lone


def post(client, path: str, form_page: str, **data):
    """Post a form with the CSRF token of the page it is on."""
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data})


def audit(session, action: str) -> list[AuditLog]:
    """The audit entries of an action."""
    return session.scalars(select(AuditLog).filter_by(action=action)).all()


def test_list_shows_roles_scope_state_and_last_login(app, client, session, tree):
    """The list has name, login, roles, scope (the subtrees' tops), active and the last login."""
    province, inside, lone = tree
    other = make_staff(session, "analyst", email="phan.tich@example.vn", name="Lê Văn Tích", all_units=False)
    from survey.sampling import service as waves

    waves.set_scope(session, other, [province, *inside])
    session.commit()
    other_client = app.test_client()
    other_client.post("/staff/login", data={"csrf_token": csrf_token(other_client), "email": other.email,
                                            "password": STAFF_PASSWORD})
    log_in(client, session, "admin")
    page = client.get("/staff/users/").text
    row = re.search(r"Lê Văn Tích.*?</tr>", page, re.S).group(0)
    assert "phan.tich@example.vn" in row and "Phân tích" in row and "<code>P01</code>" in row
    assert "P01-1" not in row and "Đang hoạt động" in row and re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", row)


def test_create_scoped_coordinator_with_a_generated_password(app, client, session, tree):
    """The generated password is shown once, works, and the scope is the chosen subtree."""
    province, inside, lone = tree
    admin = log_in(client, session, "admin")
    made = post(client, "/staff/users/new", "/staff/users/new", email=" Hoa.Nguyen@Example.vn ",
                name="Nguyễn Thị Hoa", roles=["coordinator"], units=[str(province.id)])
    assert made.status_code == 200
    password = SECRET.search(made.text).group(1)
    user = session.scalar(select(User).filter_by(email="hoa.nguyen@example.vn"))
    assert {s.unit_id for s in user.scopes} == {province.id, *(u.id for u in inside)}
    assert [r.role for r in user.roles] == ["coordinator"] and not user.all_units
    assert password not in client.get(f"/staff/users/{user.id}").text
    entry = audit(session, "user.created")[-1]
    assert entry.user_id == admin.id and entry.target == f"user:{user.id}"
    assert password not in str(entry.details)
    fresh = app.test_client()
    logged = fresh.post("/staff/login", data={"csrf_token": csrf_token(fresh), "email": user.email,
                                              "password": password})
    assert logged.status_code == 302 and fresh.get("/staff/waves/").status_code == 200


@pytest.mark.parametrize(("data", "message"), [
    ({"email": "a@example.vn", "name": "Cán bộ A", "roles": ["analyst"], "password": "password"},
     "phổ biến"),
    ({"email": "admin@example.vn", "name": "Cán bộ A", "roles": ["analyst"], "all_units": "y"},
     "Đã có tài khoản"),
    ({"email": "a@example.vn", "name": "Cán bộ A", "roles": ["analyst"]}, "Mọi đơn vị"),
    ({"email": "not-an-address", "name": "Cán bộ A", "roles": ["analyst"], "all_units": "y"}, "không hợp lệ"),
    ({"email": "a@example.vn", "name": "Cán bộ A", "all_units": "y"}, "vai trò"),
])
def test_refused_creation_writes_nothing(client, session, tree, data, message):
    """A weak password, a taken e-mail, no scope, a bad address or no role: 422 with the reason, no user."""
    log_in(client, session, "admin")
    before = session.scalar(select(User.id).order_by(User.id.desc()))
    refused = post(client, "/staff/users/new", "/staff/users/new", **data)
    assert refused.status_code == 422 and message in refused.text
    assert session.scalar(select(User.id).order_by(User.id.desc())) == before
    assert audit(session, "user.created") == []


def test_edit_roles_and_scope(client, session, tree):
    """Roles and scope are replaced; "every unit" clears the unit rows; audited."""
    province, inside, lone = tree
    log_in(client, session, "admin")
    user = make_staff(session, "data_entry", email="nhap@example.vn", all_units=True)
    page = f"/staff/users/{user.id}"
    saved = post(client, page, page, name="Trần Nhập", roles=["data_entry", "analyst"], units=[str(lone.id)])
    assert saved.status_code == 303
    session.refresh(user)
    assert sorted(r.role for r in user.roles) == ["analyst", "data_entry"] and user.name == "Trần Nhập"
    assert [s.unit_id for s in user.scopes] == [lone.id] and not user.all_units
    assert f'<option selected value="{lone.id}">' in client.get(page).text
    post(client, page, page, name="Trần Nhập", roles=["analyst"], all_units="y")
    session.refresh(user)
    assert user.all_units and user.scopes == [] and [r.role for r in user.roles] == ["analyst"]
    roles = [e.details["roles"] for e in audit(session, "user.updated")]
    assert roles == [["analyst", "data_entry"], ["analyst"]]


def test_deactivate_ends_sessions_and_tokens_then_reactivate(app, client, session):
    """A deactivated user's open session and API token stop working; reactivation lets them log in again."""
    log_in(client, session, "admin")
    theirs = app.test_client()
    user = log_in(theirs, session, "coordinator")
    token = api_tokens.create(session, TEST_SECRET, user, "t", 5).secret
    session.commit()
    assert theirs.get("/staff/").status_code == 200
    page = f"/staff/users/{user.id}"
    assert post(client, f"{page}/active", page, active="0").status_code == 303
    assert theirs.get("/staff/").status_code == 302
    assert theirs.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "Đã khóa" in client.get("/staff/users/").text
    assert post(client, f"{page}/active", page, active="1").status_code == 303
    log_in_again = theirs.post("/staff/login", data={"csrf_token": csrf_token(theirs), "email": user.email,
                                                     "password": STAFF_PASSWORD})
    assert log_in_again.status_code == 302
    assert theirs.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [e.details for e in audit(session, "user.deactivated")] == [{"tokens_revoked": 1}]
    assert len(audit(session, "user.reactivated")) == 1


def test_reset_password_generated_or_chosen(app, client, session):
    """A generated password is shown once and works; the old one and the old session stop; a weak one is
    refused."""
    log_in(client, session, "admin")
    theirs = app.test_client()
    user = log_in(theirs, session, "analyst")
    page = f"/staff/users/{user.id}"
    weak = post(client, f"{page}/password", page, password="123456789012")
    assert weak.status_code == 422 and session.get(User, user.id).check_password(STAFF_PASSWORD)
    assert theirs.get("/staff/").status_code == 200
    reset = post(client, f"{page}/password", page)
    generated = SECRET.search(reset.text).group(1)
    assert reset.status_code == 200 and len(generated) >= 20
    assert theirs.get("/staff/").status_code == 302
    session.expire_all()
    assert session.get(User, user.id).check_password(generated)
    assert not session.get(User, user.id).check_password(STAFF_PASSWORD)
    chosen = post(client, f"{page}/password", page, password="một-mật-khẩu-mới-rất-dài")
    assert chosen.status_code == 303
    session.expire_all()
    assert session.get(User, user.id).check_password("một-mật-khẩu-mới-rất-dài")
    assert [e.details["generated"] for e in audit(session, "user.password_changed")] == [True, False]


def test_last_admin_keeps_the_admin_role_and_stays_active(client, session):
    """The only active admin cannot deactivate themselves or drop the role; with a second admin they can."""
    admin = log_in(client, session, "admin")
    page = f"/staff/users/{admin.id}"
    refused = post(client, f"{page}/active", page, active="0")
    assert refused.status_code == 422 and "quản trị cuối cùng" in refused.text
    dropped = post(client, page, page, name=admin.name, roles=["coordinator"], all_units="y")
    assert dropped.status_code == 422 and "quản trị cuối cùng" in dropped.text
    session.expire_all()
    assert session.get(User, admin.id).active and session.get(User, admin.id).has_role("admin")
    make_staff(session, "admin", email="admin2@example.vn")
    assert post(client, page, page, name=admin.name, roles=["coordinator"], all_units="y").status_code == 303
    session.expire_all()
    assert [r.role for r in session.get(User, admin.id).roles] == ["coordinator"]
    assert client.get("/staff/users/").status_code == 403  # no longer an administrator


def test_cli_refuses_to_deactivate_the_last_admin_and_generates_passwords(runner, session):
    """`users deactivate` keeps the last admin; `users password --generate` prints a working password."""
    admin = make_staff(session, "admin")
    refused = runner.invoke(args=["users", "deactivate", admin.email])
    assert refused.exit_code != 0 and "last active administrator" in refused.output
    done = runner.invoke(args=["users", "password", admin.email, "--generate"])
    assert done.exit_code == 0, done.output
    generated = done.output.strip().rsplit(" ", 1)[-1]
    session.expire_all()
    assert session.get(User, admin.id).check_password(generated)
    assert runner.invoke(args=["users", "reactivate", admin.email]).exit_code == 0
