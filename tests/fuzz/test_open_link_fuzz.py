"""Fuzzing the open link for walk-ins (/o/<wave>/<group>): random units, bodies, then random pages.

Invariants after each example, besides tests/fuzz/helpers.py's: an open-link answer is only ever
started for a unit the wave assesses, and never more than the quota of a unit's open-link answers
are done.
"""

from urllib.parse import quote

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from survey.sampling.models import Invitation, InvitationUnit, WaveUnit
from tests.fuzz.conftest import OPEN_QUOTA
from tests.fuzz.helpers import CSRF, assert_no_server_error, check_database, fresh_address, fuzz_settings
from tests.fuzz.strategies import NASTY_TEXT
from tests.fuzz.test_respondent_fuzz import run_steps, step_strategy


def unit_values(world):
    """What a walk-in may post as the unit: a unit of the wave, one outside it, anything."""
    return st.one_of(st.sampled_from([str(u) for u in world.unit_ids]), st.just(str(world.outside_id)),
                     st.integers(-2**63, 2**64).map(str), st.sampled_from(NASTY_TEXT))


def check_open_links(session) -> None:
    """Open-link answers only for assessed units, and no unit past its quota of done answers."""
    session.rollback()
    rows = session.execute(
        select(InvitationUnit.unit_id, InvitationUnit.status, Invitation.wave_id)
        .join(Invitation).where(Invitation.source == "open")).all()
    assessed = set(session.execute(select(WaveUnit.wave_id, WaveUnit.unit_id)).all())
    assert all((wave_id, unit_id) in assessed for unit_id, _, wave_id in rows), rows
    done = session.execute(
        select(InvitationUnit.unit_id, func.count()).join(Invitation)
        .where(Invitation.source == "open", InvitationUnit.status == "done")
        .group_by(InvitationUnit.unit_id)).all()
    assert all(count <= OPEN_QUOTA for _, count in done), done
    session.rollback()


@fuzz_settings(examples=60)
@given(data=st.data(), csrf=st.sampled_from(["valid", "valid", "absent", "wrong"]),
       extra=st.lists(st.tuples(st.sampled_from(["unit", "csrf_token", "lang", "x"]),
                                st.sampled_from(NASTY_TEXT)), max_size=3),
       steps=st.lists(step_strategy(), max_size=6),
       query=st.sampled_from(["", "?unit=", "?unit=%00", "?lang=en"]))
def test_open_link_survives_anything(app, session, world, data, csrf, extra, steps, query):
    """Walk-ins posting any unit and body, then answering at random: no 5xx, no unit outside the wave,
    no quota passed, every stored value valid."""
    url = f"/o/{world.wave_code}/{world.group_code}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_address()
    page = client.get(url + query)
    assert_no_server_error(page, url + query)
    token = CSRF.search(page.text).group(1) if csrf == "valid" else "wrong"
    units = data.draw(st.lists(unit_values(world), min_size=1, max_size=3), label="units")
    body = ([] if csrf == "absent" else [("csrf_token", token)]) + [("unit", u) for u in units] + extra
    answer = client.post(url, data=MultiDict(body))
    assert_no_server_error(answer, f"POST {url}")
    event(f"open link -> {answer.status_code}")
    location = answer.headers.get("Location", "")
    if answer.status_code == 302 and "/r/" in location:
        parts = location.split("/")
        token, unit_id = parts[parts.index("r") + 1], int(parts[parts.index("u") + 1])
        client.fuzz_csrf = CSRF.search(page.text).group(1)
        run_steps(client, token, unit_id, world.outside_id, steps)
    check_database(session)
    check_open_links(session)


@fuzz_settings(examples=30)
@given(wave=st.text(max_size=20), group=st.text(max_size=20), method=st.sampled_from(["GET", "POST"]))
def test_unknown_open_links(app, wave, group, method):
    """Any wave and group code: 404 (or 405 for a path werkzeug cannot route), never 5xx."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = fresh_address()
    url = f"/o/{quote(wave, safe='')}/{quote(group, safe='')}"
    response = client.open(url, method=method)
    assert_no_server_error(response, url)
