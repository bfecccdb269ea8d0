"""Invitations: issuing, links made again, letters, e-mail through a real SMTP server, reminders, opt-out."""

import csv
import io
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text

from survey.auth.models import AuditLog, UserUnit
from survey.sampling import draw, invitations, tokens
from survey.sampling import service as waves
from survey.sampling.models import FrameEntry, Invitation, InvitationUnit, WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import (
    csrf_token,
    log_in,
    make_group,
    make_stratum,
    make_unit,
    make_version,
    make_wave,
)

LINK = re.compile(r"http://localhost/r/([\w-]+)(?=\s|$)", re.M)


class Collector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free local port, and the app configured to send through it."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False,
                      MAIL_SENDER="Sở Nội vụ <khaosat@snv.example.vn>", PUBLIC_URL="http://localhost")
    yield handler
    controller.stop()


@dataclass
class World:
    """An open wave over communes A and B and two agencies: citizens and commune leaders, all with e-mail."""

    wave: object
    citizens: object
    leaders: object
    units: dict
    agencies: list
    people: dict  # unit label -> frame entries of citizens
    unselected: object


@pytest.fixture
def world(app, session):
    """Three selected citizens in A, two in B, one not selected; two commune leaders in A rating agencies."""
    wave = make_wave(session, name="Khảo sát CCHC 2026", name_en="PAR survey 2026")
    version = make_version(session)
    citizens, leaders = make_group(session), make_group(session, kind="official")
    for group in (citizens, leaders):
        session.add(WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=version.id))
    units = {"A": make_unit(session, name="Xã An Phú"), "B": make_unit(session, name="Phường Bình Minh")}
    agencies = [make_unit(session, name=f"Sở {n}", kind="agency") for n in ("Tư pháp", "Y tế")]
    for unit in [*units.values(), *agencies]:
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
    session.flush()
    people, counter = {}, iter(range(100))
    for label, n in (("A", 3), ("B", 2)):
        stratum = make_stratum(session, wave, unit_id=units[label].id, group_id=citizens.id)
        people[label] = [waves.add_person(session, wave, stratum, f"Nguyễn Văn {label}{i}",
                                          email=f"dan{next(counter)}@example.vn", selection_probability=0.1)
                         for i in range(n)]
    unselected = waves.add_person(session, wave, stratum, "Trần Thị Không", email="khong@example.vn")
    stratum = make_stratum(session, wave, unit_id=units["A"].id, group_id=leaders.id)
    for i in range(2):
        waves.add_person(session, wave, stratum, f"Lê Lãnh Đạo {i}", email=f"ld{i}@example.vn",
                         phone=f"091234567{i}", selection_probability=1.0)
    session.commit()
    return World(wave, citizens, leaders, units, agencies, people, unselected)


def issue(session, world, **kwargs):
    """Issue the wave's invitations and commit."""
    result = invitations.issue(session, world.wave, TEST_SECRET, **kwargs)
    session.commit()
    return result


def test_issue_makes_one_invitation_per_selected_person(session, world):
    """Selected people get one invitation each, once; citizens rate their unit, commune leaders agencies."""
    result = issue(session, world)
    assert (result.created, result.already) == (7, 0)
    assert issue(session, world).created == 0
    made = session.scalars(select(Invitation)).all()
    assert world.unselected.id not in {i.frame_entry_id for i in made}
    for invitation in made:
        rated = [e.unit_id for e in invitation.units]
        assert invitation.language == "vi" and invitation.link_salt and invitation.source == "frame"
        if invitation.group_id == world.citizens.id:
            assert rated == [invitation.stratum.unit_id]
        else:  # two agencies in the wave, at most three each: both
            assert sorted(rated) == sorted(a.id for a in world.agencies)


def test_rotation_spreads_rated_units_evenly(app, session, world):
    """With one unit to rate per person, two commune leaders rate different agencies."""
    issue(session, world, per_person=1)
    rated = session.scalars(select(InvitationUnit.unit_id).join(Invitation)
                            .where(Invitation.group_id == world.leaders.id)).all()
    assert sorted(rated) == sorted(a.id for a in world.agencies)


def test_links_are_made_again_and_the_database_alone_gives_none(app, client, session, world):
    """The links CSV is the same on every download, each link opens its questionnaire; no token is stored."""
    issue(session, world)
    log_in(client, session, "coordinator")
    first = client.get(f"/staff/waves/{world.wave.code}/invitations/links.csv")
    again = client.get(f"/staff/waves/{world.wave.code}/invitations/links.csv")
    assert first.status_code == 200 and first.data == again.data
    assert first.data.startswith("\ufeff".encode()) and first.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(first.data.decode("utf-8-sig"))))
    assert len(rows) == 7 and {r["unit_code"] for r in rows} == {u.code for u in world.units.values()}
    leader = next(r for r in rows if r["full_name"] == "Lê Lãnh Đạo 0")
    assert leader["phone"] == "0912345670" and leader["group_code"] == world.leaders.code
    found = [LINK.search(r["link"]).group(1) for r in rows]
    for token in found:
        assert client.get(f"/r/{token}").status_code == 200
    # Nothing in the database is a token: every column of every invitation, salt included.
    dumped = " ".join(str(v) for row in session.execute(text("SELECT * FROM invitations")) for v in row)
    assert not any(token in dumped for token in found)
    assert all(tokens.link_token("another key", i.wave_id, i.link_salt) not in found
               for i in session.scalars(select(Invitation)))
    assert session.scalars(select(AuditLog.action)).all().count("invitations.links_downloaded") == 2


def test_links_command_writes_the_same_links(app, runner, session, world, tmp_path):
    """`flask waves invite` then `waves links` writes what the page gives."""
    app.config["PUBLIC_URL"] = "http://localhost"
    assert "7 invitation(s) made" in runner.invoke(args=["waves", "invite", world.wave.code]).output
    out = tmp_path / "links.csv"
    result = runner.invoke(args=["waves", "links", world.wave.code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = invitations.people(session, world.wave, TEST_SECRET)
    assert out.read_bytes() == invitations.links_csv(found, "http://localhost").encode("utf-8")
    assert len(LINK.findall(out.read_text(encoding="utf-8-sig"))) == 7


def test_letters_and_slips_have_one_qr_code_per_person(client, session, world):
    """Letters: one A4 letter and one inline SVG QR code per person; slips the same; no script."""
    issue(session, world)
    log_in(client, session, "coordinator")
    for path, marker in (("letters", 'class="letter"'), ("slips", 'class="slip"')):
        page = client.get(f"/staff/waves/{world.wave.code}/invitations/{path}")
        assert page.status_code == 200
        assert page.text.count("<svg") == 7 == page.text.count(marker)
        assert "<script" not in page.text
        assert re.search(r'href="/static/invitations\.[0-9a-f]+\.css"', page.text)
    one = client.get(f"/staff/waves/{world.wave.code}/invitations/letters?unit={world.units['B'].code}")
    assert one.text.count("<svg") == 2 and "Nguyễn Văn B0" in one.text and "Nguyễn Văn A0" not in one.text


def test_scoped_coordinator_sees_only_their_units(client, session, world):
    """A coordinator of unit B gets B's people only, and 404 for A's letters."""
    issue(session, world)
    user = log_in(client, session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=world.units["B"].id))
    session.commit()
    code = world.wave.code
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/staff/waves/{code}/invitations/links.csv").data.decode("utf-8-sig"))))
    assert {r["unit_code"] for r in rows} == {world.units["B"].code} and len(rows) == 2
    assert client.get(f"/staff/waves/{code}/invitations/letters").text.count("<svg") == 2
    other = client.get(f"/staff/waves/{code}/invitations/letters?unit={world.units['A'].code}")
    assert other.status_code == 404
    page = client.get(f"/staff/waves/{code}/invitations")
    assert '<strong class="selected">2</strong>' in page.text
    # Reminding A from B's account is refused; the preview of B counts B's people only.
    token = csrf_token(client, f"/staff/waves/{code}/invitations")
    refused = client.post(f"/staff/waves/{code}/reminders",
                          data={"csrf_token": token, "unit": world.units["A"].code})
    assert refused.status_code == 404


def test_analyst_gets_403_everywhere_here(app, client, session, world):
    """Analysts cannot issue, download, print, send or remind (form tokens off: the role check answers)."""
    issue(session, world)
    code = world.wave.code
    log_in(client, session, "analyst")
    app.config["WTF_CSRF_ENABLED"] = False
    for method, path in (("GET", "invitations"), ("POST", "invitations"), ("GET", "invitations/links.csv"),
                         ("GET", "invitations/letters"), ("GET", "invitations/slips"),
                         ("POST", "invitations/send"), ("POST", "reminders")):
        assert client.open(f"/staff/waves/{code}/{path}", method=method).status_code == 403, path


def _post(client, url, page, **data):
    """Post a form of a staff page with its CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def test_emails_reach_the_smtp_server_with_links_that_open_the_questionnaire(client, session, world, smtp):
    """The coordinator issues, previews and sends: each person gets one e-mail whose link works."""
    log_in(client, session, "coordinator")
    code = world.wave.code
    page = f"/staff/waves/{code}/invitations"
    assert _post(client, page, page, language="vi").status_code == 303
    preview = _post(client, f"{page}/send", page)
    assert preview.status_code == 200 and '<td class="eligible">7</td>' in preview.text
    assert smtp.messages == []  # a preview sends nothing
    sent = _post(client, f"{page}/send", page, confirm="1")
    assert sent.status_code == 303
    assert len(smtp.messages) == 7
    recipients = sorted(r for rcpt, _ in smtp.messages for r in rcpt)
    wanted = [f"dan{i}@example.vn" for i in range(5)] + ["ld0@example.vn", "ld1@example.vn"]
    assert recipients == sorted(wanted)
    rcpt, msg = next(m for m in smtp.messages if m[0] == ["dan0@example.vn"])
    assert msg["Subject"] == "Mời Ông/Bà trả lời Khảo sát CCHC 2026"
    body = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Kính gửi Ông/Bà Nguyễn Văn A0" in body and "Xã An Phú" in body
    token = LINK.search(body).group(1)
    assert f"http://localhost/r/{token}" in html and f"/r/{token}/opt-out" in msg["List-Unsubscribe"]
    landing = client.get(f"/r/{token}")
    assert landing.status_code == 200 and "Xã An Phú" in landing.text
    start = client.post(f"/r/{token}/u/{world.units['A'].id}/start",
                        data={"csrf_token": csrf_token(client, f"/r/{token}")})
    assert client.get(start.headers["Location"]).status_code == 200
    assert all(i.sent_count == 1 for i in session.scalars(select(Invitation)))
    # Sending again sends nothing: everyone had their invitation.
    _post(client, f"{page}/send", page, confirm="1")
    assert len(smtp.messages) == 7
    assert "invitations.emailed" in session.scalars(select(AuditLog.action)).all()


def test_english_invitation_is_in_english(session, world, smtp):
    """An invitation made in English is e-mailed in English; progress is reported after each e-mail."""
    issue(session, world, language="en", unit_ids=[world.units["B"].id])
    steps = []
    counts = invitations.send_invitations(session, world.wave, progress=lambda *step: steps.append(step))
    session.commit()
    assert counts.sent == 2 and steps == [(1, 2), (2, 2)]
    _, msg = smtp.messages[0]
    assert msg["Subject"] == "Invitation to answer PAR survey 2026"
    assert "Dear" in msg.get_body(("plain",)).get_content()


def _age(session, days: int) -> None:
    """Pretend every e-mail was sent `days` ago."""
    for invitation in session.scalars(select(Invitation)):
        if invitation.last_sent_at is not None:
            invitation.last_sent_at = datetime.now(UTC) - timedelta(days=days)
    session.commit()


def test_reminders_go_to_non_respondents_at_most_max_times_and_not_too_soon(app, session, world, smtp):
    """Completed and opted-out people get no reminder; others at most REMINDER_MAX, INTERVAL days apart."""
    app.config.update(REMINDER_MAX=2, REMINDER_INTERVAL_DAYS=3)
    issue(session, world)
    assert invitations.send_invitations(session, world.wave).sent == 7
    session.commit()
    done, quitter = session.scalars(select(Invitation).order_by(Invitation.id)).all()[:2]
    done.status = "completed"
    invitations.opt_out(session, quitter)
    session.commit()
    smtp.messages.clear()
    soon = invitations.send_invitations(session, world.wave, kind="reminder")
    assert (soon.sent, soon.too_soon, soon.completed, soon.opted_out) == (0, 5, 1, 1)
    for round_ in range(1, 4):
        _age(session, 4)
        counts = invitations.send_invitations(session, world.wave, kind="reminder")
        session.commit()
        assert counts.sent == (5 if round_ <= 2 else 0), round_
    assert counts.at_maximum == 5
    assert len(smtp.messages) == 10
    reminded = {r for rcpt, _ in smtp.messages for r in rcpt}
    assert len(reminded) == 5 and not reminded & {"dan0@example.vn", "dan1@example.vn"}
    assert all(m["Subject"].startswith("Nhắc lại") for _, m in smtp.messages)


def test_remind_one_unit_from_the_tracking_page(client, session, world, smtp):
    """The POST route takes unit codes, previews counts, then reminds only that unit's people."""
    issue(session, world)
    invitations.send_invitations(session, world.wave)
    session.commit()
    _age(session, 4)
    smtp.messages.clear()
    log_in(client, session, "coordinator")
    code, unit_b = world.wave.code, world.units["B"].code
    page = f"/staff/waves/{code}/invitations"
    preview = _post(client, f"/staff/waves/{code}/reminders", page, unit=unit_b)
    assert '<td class="eligible">2</td>' in preview.text and f'value="{unit_b}"' in preview.text
    assert _post(client, f"/staff/waves/{code}/reminders", page, unit=unit_b, confirm="1").status_code == 303
    assert sorted(r for rcpt, _ in smtp.messages for r in rcpt) == ["dan3@example.vn", "dan4@example.vn"]
    audit = session.scalars(select(AuditLog).filter_by(action="invitations.reminded")).one()
    assert audit.details["sent"] == 2 and audit.details["units"] == [unit_b]
    tracking = client.get(f"/staff/waves/{code}/progress")
    assert 'action="/staff/waves/' + code + '/reminders"' in tracking.text


def test_opt_out_stops_reminders(client, session, world, smtp):
    """The opt-out link shows a button (opening it changes nothing); pressing it stops the reminders."""
    issue(session, world, unit_ids=[world.units["B"].id])
    invitations.send_invitations(session, world.wave)
    session.commit()
    _, msg = smtp.messages[0]
    token = LINK.search(msg.get_body(("plain",)).get_content()).group(1)
    url = f"/r/{token}/opt-out"
    shown = client.get(url)
    assert shown.status_code == 200 and "Ngừng nhận thư" in shown.text
    assert session.scalars(select(Invitation).where(Invitation.opted_out_at.is_not(None))).all() == []
    done = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert done.status_code == 200 and "không gửi thêm thư nhắc" in done.text
    _age(session, 4)
    smtp.messages.clear()
    counts = invitations.send_invitations(session, world.wave, kind="reminder")
    assert (counts.sent, counts.opted_out) == (1, 1) and len(smtp.messages) == 1
    assert client.get("/r/" + "x" * 24 + "/opt-out").status_code == 404


def test_console_backend_writes_the_outbox(app, runner, session, world):
    """Without a mail server, `waves send` writes .eml files to instance/outbox."""
    app.config.update(MAIL_SERVER=None, MAIL_BACKEND=None)
    issue(session, world, unit_ids=[world.units["B"].id])
    result = runner.invoke(args=["waves", "send", world.wave.code])
    assert result.exit_code == 0 and "2 invitation(s) sent" in result.output, result.output
    written = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(written) == 2
    msg = message_from_bytes(written[0].read_bytes(), policy=policy.default)
    assert "/r/" in msg.get_body(("plain",)).get_content()
    reminded = runner.invoke(args=["waves", "send", world.wave.code, "--reminders",
                                   "--unit", world.units["B"].code])
    assert "0 reminder(s) sent" in reminded.output and "2 too soon" in reminded.output


def test_mail_needs_an_open_wave(client, session, world):
    """A draft wave sends nothing and says why."""
    issue(session, world)
    world.wave.status = "draft"
    session.commit()
    log_in(client, session, "coordinator")
    page = f"/staff/waves/{world.wave.code}/invitations"
    refused = _post(client, f"{page}/send", page, confirm="1")
    assert refused.status_code == 422 and "khi đợt khảo sát đang mở" in refused.text


def test_unit_poster_chooses_the_unit(client, session, world):
    """A unit's poster links the open link with the unit, whose page then has it chosen."""
    assigned = session.scalar(select(WaveGroup).filter_by(wave_id=world.wave.id, group_id=world.citizens.id))
    assigned.open_link = True
    session.commit()
    log_in(client, session, "coordinator")
    code, group, unit = world.wave.code, world.citizens.code, world.units["B"]
    poster = client.get(f"/staff/waves/{code}/{group}/poster?unit={unit.code}")
    assert poster.status_code == 200 and poster.text.count("<svg") == 1
    assert f"http://localhost/o/{code}/{group}?unit={unit.code}" in poster.text
    chosen = client.get(f"/o/{code}/{group}?unit={unit.code}")
    assert re.search(rf'<option selected value="{unit.id}">|<option value="{unit.id}" selected', chosen.text)
    assert client.get(f"/staff/waves/{code}/{group}/poster?unit=NOPE").status_code == 404


class Refusing(Collector):
    """A server that refuses one mailbox."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == "dan3@example.vn":
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_address_is_tried_again_and_a_dead_server_stops_sending(app, session, world, smtp):
    """A refused mailbox counts as failed (not sent); a server that is gone stops sending, nothing lost."""
    issue(session, world, unit_ids=[world.units["B"].id])
    refusing = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    refusing.start()
    app.config["MAIL_PORT"] = refusing.port
    try:
        counts = invitations.send_invitations(session, world.wave)
    finally:
        refusing.stop()
    session.commit()
    assert (counts.sent, counts.failed) == (1, 1)
    assert sorted(i.sent_count for i in session.scalars(select(Invitation))) == [0, 1]
    app.config["MAIL_PORT"] = free_port()  # nobody listens
    stopped = invitations.send_invitations(session, world.wave)
    assert stopped.sent == 0 and stopped.stopped and "Connection" in stopped.stopped


def test_scoped_coordinator_issues_only_for_their_units(client, session, world):
    """Issuing from the page of a coordinator of unit B invites B's people only."""
    user = log_in(client, session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=world.units["B"].id))
    session.commit()
    page = f"/staff/waves/{world.wave.code}/invitations"
    assert _post(client, page, page, language="en").status_code == 303
    made = session.scalars(select(Invitation)).all()
    assert len(made) == 2 and {i.stratum.unit_id for i in made} == {world.units["B"].id}
    assert {i.language for i in made} == {"en"}


def test_mail_configuration_is_checked(app, runner, session, world, configured):
    """A backend that cannot work stops the app; production without a server sends nothing, says why."""
    from survey.config import ConfigError

    with pytest.raises(ConfigError, match="SURVEY_MAIL_SERVER"):
        configured(MAIL_BACKEND="smtp")
    with pytest.raises(ConfigError, match="MAIL_BACKEND"):
        configured(MAIL_BACKEND="pigeon")
    issue(session, world)
    app.config.update(ENV="production", MAIL_SERVER=None, MAIL_BACKEND=None)
    result = runner.invoke(args=["waves", "send", world.wave.code])
    assert result.exit_code == 1 and "SURVEY_PUBLIC_URL" in result.output
    app.config["PUBLIC_URL"] = "https://khaosat.example.vn"
    result = runner.invoke(args=["waves", "send", world.wave.code])
    assert result.exit_code == 1 and "SURVEY_MAIL_SERVER" in result.output
    assert all(i.sent_count == 0 for i in session.scalars(select(Invitation)))


def test_the_drawn_sample_is_invited(session, world):
    """After the draw (census of officials, 2 citizens a stratum), exactly the selected people are invited."""
    world.wave.status = "draft"
    draw.draw(session, world.wave, draw.DrawParameters(method="srs", size=2), seed=7)
    session.commit()
    chosen = select(FrameEntry.id).where(FrameEntry.selection_probability.is_not(None))
    selected = set(session.scalars(chosen))
    assert issue(session, world).created == len(selected) == 6
    assert set(session.scalars(select(Invitation.frame_entry_id))) == selected
