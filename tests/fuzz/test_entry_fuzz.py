"""Fuzzing the clerks' data entry (/staff/entry): random start forms, bodies and page orders.

A clerk's submitted form is one audit entry and one response: replaying "Lưu phiếu", posting pages
out of order or after submission never stores a second one (tests/fuzz/helpers.check_database).
"""

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from survey.definitions import load
from survey.responses.models import Response
from tests.factories import csrf_token, log_in
from tests.fuzz.helpers import FUZZ_QUESTIONNAIRE, assert_no_server_error, check_database, fuzz_settings
from tests.fuzz.strategies import NASTY_TEXT, PRINTABLE, bodies, walk

DEFINITION = load.from_document(FUZZ_QUESTIONNAIRE)
PAGES = len(DEFINITION.sections)


@pytest.fixture
def clerk(app, session, world):
    """A logged-in data-entry clerk's client and its CSRF token."""
    client = app.test_client()
    log_in(client, session, "data_entry")
    return client, csrf_token(client, "/staff/entry/")


def entry_steps():
    """What a clerk does on a draft: post a page (any number, any body), look at one, enter it all."""
    page = st.integers(0, PAGES + 1)
    body = st.integers(0, PAGES - 1).flatmap(lambda i: bodies(DEFINITION, i))
    post = st.tuples(st.just("post"), page, body)
    return st.one_of(post, post, st.tuples(st.just("get"), page, st.none()),
                     st.tuples(st.just("walk"), st.none(), walk(DEFINITION)))


@fuzz_settings(examples=60)
@given(data=st.data(),
       mode=st.sampled_from(["paper", "phone", "face_to_face"] * 3 + ["online", "", "PAPER", "\x00"]),
       cluster=st.one_of(st.none(), st.sampled_from(NASTY_TEXT), st.text(max_size=80)),
       steps=st.lists(entry_steps(), max_size=6), replay=st.integers(0, 2))
def test_data_entry_survives_anything(app, session, world, clerk, data, mode, cluster, steps, replay):
    """Start forms with any unit code, form number, mode and cluster; pages in any order; the last
    post replayed. Form numbers repeat across examples, so a clash (refused) is tried too."""
    client, csrf = clerk
    url = f"/staff/entry/{world.wave_code}/{world.group_code}"
    valid = st.sampled_from(world.unit_codes)
    unit = data.draw(st.one_of(valid, valid, valid, st.just(world.outside_code),
                               st.just(str(world.unit_ids[0])), st.sampled_from(NASTY_TEXT)),
                     label="unit_code")
    numbers = st.from_regex(r"[0-9]{1,4}", fullmatch=True)
    number = data.draw(st.one_of(numbers, numbers, st.sampled_from(NASTY_TEXT), st.text(max_size=40)),
                       label="form_number")
    body = MultiDict([("csrf_token", csrf), ("unit_code", unit), ("form_number", number), ("mode", mode)]
                     + ([("cluster", cluster)] if cluster is not None else []))
    started = client.post(url, data=body)
    assert_no_server_error(started, f"POST {url}")
    event(f"start -> {started.status_code}")
    if started.status_code != 302:
        check_database(session)
        return
    draft = started.headers["Location"].split("/d/")[1].split("/")[0]
    last = None
    for kind, number, value in steps:
        if kind == "walk":
            for index, page_body in enumerate(value, start=1):
                last = (f"/staff/entry/d/{draft}/p/{index}", page_body)
                assert_no_server_error(client.post(last[0], **page_body.request_kwargs(csrf)), last[0])
            continue
        target = f"/staff/entry/d/{draft}/p/{number}"
        if kind == "get":
            response = client.get(target)
        else:
            last = (target, value)
            response = client.post(target, **value.request_kwargs(csrf))
        assert_no_server_error(response, f"{kind} {target}")
        event(f"{kind} -> {response.status_code}")
    for _ in range(replay if last else 0):  # "Lưu phiếu" pressed again, or the browser resending
        assert_no_server_error(client.post(last[0], **last[1].request_kwargs(csrf)), f"replay {last[0]}")
    check_database(session)


@fuzz_settings(examples=30)
@given(draft=PRINTABLE, number=st.integers(0, 2**40))
def test_unknown_drafts(app, clerk, draft, number):
    """A draft id nobody has: GET 404; POST (a late click after the form was saved looks the same) goes
    to the entry page that says the draft is no longer there; never 5xx."""
    client, csrf = clerk
    for method in ("GET", "POST"):
        response = client.open(f"/staff/entry/d/{draft}/p/{number}", method=method, data={"csrf_token": csrf})
        assert_no_server_error(response, draft)
        if method == "GET" or response.status_code == 404:  # 404 too when no route matches the id
            assert response.status_code == 404
        else:
            assert response.status_code == 302 and response.headers["Location"].endswith("/staff/entry/")


def test_cluster_code_with_control_characters_is_cleaned(app, session, world, clerk):
    """Regression: a cluster code with a NUL made the clerk's start a 500 on PostgreSQL (text cannot
    hold NUL); it is cleaned as free text is (no control characters, NFC)."""
    client, csrf = clerk
    url = f"/staff/entry/{world.wave_code}/{world.group_code}"
    started = client.post(url, data={"csrf_token": csrf, "unit_code": world.unit_codes[0], "form_number": "1",
                                     "mode": "paper", "cluster": " C\x00-1\x1b\u202e "})
    assert started.status_code == 302
    session.rollback()
    assert session.scalars(select(Response.cluster_code).where(Response.mode == "paper")).all() == ["C-1"]
