"""The staff navigation bar: only the pages the user's roles allow, their name and log-out; never on
respondent pages.

The expected links come from the authorisation table (tests/test_authorisation.py), not from the
navigation's own code, so that a changed declaration and a stale menu cannot agree by accident.
"""

import re

import pytest
from sqlalchemy import select

from survey.auth.models import ROLES
from survey.sampling.models import WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation
from tests.test_authorisation import EXPECTED

MENU = {"staff.home": "/staff/", "waves.index": "/staff/waves/", "entry.index": "/staff/entry/",
        "dashboard.index": "/staff/analysis/", "instruments.index": "/staff/questionnaires",
        "jobs.index": "/staff/jobs/", "overall.index": "/staff/index/",
        "frameworks.index": "/staff/frameworks", "focal.index": "/staff/focal/",
        "users.index": "/staff/users/", "tokens.index": "/staff/tokens/",
        "assessment.index": "/staff/assessments/"}
NAV = re.compile(r'<nav class="staff"[^>]*>(.*?)</nav>', re.S)


def links(page: str) -> set[str]:
    """The paths the staff navigation links to ("" when there is no navigation)."""
    found = NAV.search(page)
    return set(re.findall(r'<a href="([^"]+)"', found.group(1))) if found else set()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_what_it_may_open(client, session, role):
    """Every link shown opens for the role (200), and every menu page it may open is shown."""
    log_in(client, session, role, name="Nguyễn Thị Hoa")
    allowed = {path for endpoint, path in MENU.items() if role == "admin" or role in EXPECTED[endpoint]}
    home = client.get("/staff/")
    page = home.text
    assert home.status_code == 200
    assert links(page) == allowed
    assert "Nguyễn Thị Hoa" in NAV.search(page).group(1) and "Đăng xuất" in NAV.search(page).group(1)
    for path in allowed:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert links(answer.text) == allowed, path
    assert 'aria-current="page">Trang chủ' in page


def test_coordinator_menu_marks_the_current_page(client, session):
    """A coordinator sees every entry; the wave pages mark "Đợt khảo sát" as the current one."""
    log_in(client, session, "coordinator")
    page = client.get("/staff/waves/").text
    assert 'href="/staff/waves/" aria-current="page">Đợt khảo sát' in page
    assert client.get("/staff/waves/?lang=en").text.count('aria-current="page">Survey waves') == 1


def test_respondent_pages_show_no_staff_navigation(client, session):
    """A staff member logged in on the same browser opens a respondent link: no menu, no name, no log-out."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.scalar(select(WaveGroup).filter_by(wave_id=invitation.wave_id)).open_link = True
    session.commit()
    log_in(client, session, "coordinator", name="Nguyễn Thị Hoa")
    for path in (f"/r/{token}", f"/o/{invitation.wave.code}/{invitation.group.code}"):
        page = client.get(path)
        assert page.status_code == 200
        assert 'class="staff"' not in page.text and "Nguyễn Thị Hoa" not in page.text
        assert "Đăng xuất" not in page.text and "/staff/" not in page.text


def test_login_page_has_no_navigation(client):
    """Before logging in there is nothing to navigate to."""
    assert links(client.get("/staff/login").text) == set()
