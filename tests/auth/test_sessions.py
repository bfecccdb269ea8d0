"""Server-side session revocation: logout, a password change or deactivation end every session."""

from survey.auth.models import User
from tests.factories import log_in, log_out


def copied_client(app, client):
    """A second browser holding a copy of the first one's session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_copied_cookie_stops_working_after_logout(app, session, client):
    """A session cookie copied before logout is refused after it (server-side revocation)."""
    log_in(client, session, "coordinator")
    thief = copied_client(app, client)
    assert thief.get("/staff/").status_code == 200
    assert log_out(client).status_code == 302
    replay = thief.get("/staff/")
    assert replay.status_code == 302 and "/staff/login" in replay.headers["Location"]
    assert client.get("/staff/").status_code == 302


def test_logging_in_again_after_logout_works(session, client):
    """Revocation ends old sessions only: the user logs in again normally."""
    log_in(client, session, "analyst")
    log_out(client)
    from tests.factories import STAFF_PASSWORD, csrf_token

    again = client.post("/staff/login", data={"csrf_token": csrf_token(client), "email": "analyst@example.vn",
                                              "password": STAFF_PASSWORD})
    assert again.status_code == 302 and client.get("/staff/").status_code == 200


def test_password_change_ends_sessions(app, session, client, runner):
    """`flask users password` ends the sessions opened with the old password."""
    user = log_in(client, session, "coordinator")
    assert client.get("/staff/").status_code == 200
    result = runner.invoke(args=["users", "password", user.email, "--password", "một-mật-khẩu-mới-dài"])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302


def test_deactivation_ends_sessions(app, session, client, runner):
    """`flask users deactivate` ends the user's open sessions and refuses new logins."""
    user = log_in(client, session, "data_entry")
    result = runner.invoke(args=["users", "deactivate", user.email])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302
    session.expire_all()
    assert session.get(User, user.id).active is False


def test_session_holds_a_versioned_id(session, client):
    """The session keeps the user id with the session version, not the bare id."""
    user = log_in(client, session, "analyst")
    with client.session_transaction() as stored:
        assert stored["_user_id"] == f"{user.id}.{user.session_version}"
