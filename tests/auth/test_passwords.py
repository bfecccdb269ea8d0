"""The password policy: length, common passwords, patterns, personal data; applied wherever set."""

import pytest
from sqlalchemy import select

from survey.auth import passwords
from survey.auth.models import User
from survey.auth.passwords import WeakPassword


@pytest.mark.parametrize("password", [
    "a", "ngắn-quá", "password1234", "qwertyuiop123", "iloveyou1234", "aaaaaaaaaaaaaaaa",
    "abcabcabcabcabc", "123456789012", "abcdefghijklmno", "98765432109876", "nguyenvana-2025!",
    "Bình-yêu-hoa-sen-2025"])
def test_weak_passwords_are_refused(app, password):
    """Short, common, repeated or sequential passwords, or ones holding the e-mail or name, are refused."""
    found = passwords.problems(password, email="nguyenvana@sonoivu.gov.vn", name="Trần Thị Bình")
    assert found, password


@pytest.mark.parametrize("password", ["mật-khẩu-đủ-dài", "correct horse battery staple", "Tr4m-hoa-sen-nở"])
def test_good_passwords_pass(app, password):
    """Long passwords of any characters (Vietnamese, spaces) that are not common pass."""
    assert passwords.problems(password, email="nguyenvana@sonoivu.gov.vn", name="Trần Thị Bình") == []


def test_common_list_is_the_shipped_public_list():
    """The list of 20,000 common passwords (fewer once stripped of spaces) ships with the package."""
    common = passwords.common_passwords()
    assert len(common) > 19_000 and {"123456", "password", "qwerty"} <= common


def test_set_password_enforces_the_policy(app):
    """The model refuses a weak password, so no code path can store one."""
    user = User(email="a@example.vn", name="A")
    with pytest.raises(WeakPassword):
        user.set_password("123456")
    assert user.password_hash is None


def test_users_create_refuses_a_weak_password(runner, session):
    """`flask users create --password a` stops with the reasons and creates nothing."""
    result = runner.invoke(args=["users", "create", "x@example.vn", "--name", "Cán bộ X", "--role", "analyst",
                                 "--all-units", "--password", "a"])
    assert result.exit_code != 0 and "password refused" in result.output and "12" in result.output
    assert session.scalar(select(User).filter_by(email="x@example.vn")) is None
    good = runner.invoke(args=["users", "create", "x@example.vn", "--name", "Cán bộ X", "--role", "analyst",
                               "--all-units", "--password", "mật-khẩu-đủ-dài"])
    assert good.exit_code == 0, good.output
    assert session.scalar(select(User).filter_by(email="x@example.vn")).check_password("mật-khẩu-đủ-dài")


def test_users_password_refuses_a_weak_password(runner, session):
    """`flask users password` applies the policy too."""
    runner.invoke(args=["users", "create", "y@example.vn", "--name", "Cán bộ Y", "--role", "analyst",
                        "--all-units", "--password", "mật-khẩu-đủ-dài"])
    result = runner.invoke(args=["users", "password", "y@example.vn", "--password", "password"])
    assert result.exit_code != 0 and "password refused" in result.output
