"""The service functions the set-up pages added: removing a unit from a draft wave, switching an open
link; and the reason every refusal carries for the pages to translate."""

from datetime import date

import pytest

from survey.sampling import service
from survey.sampling.models import WaveUnit
from tests.factories import make_group, make_unit, make_version

KEY = "k" * 40
D1, D2 = date(2026, 3, 1), date(2026, 5, 31)


@pytest.fixture
def draft(session):
    """A draft wave with a group answering the small questionnaire and two communes."""
    wave = service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    group = make_group(session)
    make_version(session)
    service.assign_group(session, wave, group.code, "small")
    first, second = make_unit(session), make_unit(session)
    service.add_units(session, wave, [first, second])
    return wave, group, first, second


def test_remove_unit_only_while_draft_and_unused(session, draft):
    """A unit leaves a draft wave unless an invitation rates it; never once the wave is open."""
    wave, group, first, second = draft
    service.remove_unit(session, wave, second)
    assert session.get(WaveUnit, (wave.id, second.id)) is None
    with pytest.raises(service.WaveError) as refused:
        service.remove_unit(session, wave, second)
    assert (refused.value.reason, refused.value.params) == ("unit_not_in_wave", {"unit": second.code})
    service.invite(session, wave, group, None, [first], KEY)
    with pytest.raises(service.WaveError) as refused:
        service.remove_unit(session, wave, first)
    assert refused.value.reason == "unit_in_use"
    service.set_status(session, wave, "open")
    with pytest.raises(service.WaveError) as refused:
        service.remove_unit(session, wave, first)
    assert (refused.value.reason, refused.value.params) == ("frozen", {"status": "open"})
    assert session.get(WaveUnit, (wave.id, first.id)) is not None


def test_open_link_switches_while_draft_or_open_never_closed(session, draft):
    """The open link and its quota change in draft and while open; a closed wave refuses."""
    wave, group, _first, _second = draft
    assert service.set_open_link(session, wave, group, True, 40).open_quota == 40
    service.set_status(session, wave, "open")
    assigned = service.set_open_link(session, wave, group, False, None)
    assert (assigned.open_link, assigned.open_quota) == (False, None)
    with pytest.raises(service.WaveError) as refused:
        service.set_open_link(session, wave, group, True, 0)
    assert refused.value.reason == "quota"
    with pytest.raises(service.WaveError) as refused:
        service.set_open_link(session, wave, make_group(session), True, None)
    assert refused.value.reason == "not_assigned"
    service.set_status(session, wave, "closed")
    with pytest.raises(service.WaveError) as refused:
        service.set_open_link(session, wave, group, True, None)
    assert refused.value.reason == "closed"
    assert assigned.open_link is False


def test_every_refusal_names_its_reason(session, draft):
    """The English message stays for the CLI; the reason and its values are for the pages."""
    wave, _group, _first, _second = draft
    with pytest.raises(service.WaveError) as refused:
        service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    assert str(refused.value) == "a wave CCHC-2026 exists already"
    assert (refused.value.reason, refused.value.params) == ("code_taken", {"code": "CCHC-2026"})
    with pytest.raises(service.WaveError) as refused:
        service.set_status(session, wave, "closed")
    assert refused.value.reason == "transition"
    assert refused.value.params == {"current": "draft", "wanted": "closed"}


def test_every_reason_the_service_gives_has_a_vietnamese_message(app):
    """Each reason raised in service.py maps to its own message on the pages, not the generic one."""
    import ast
    import inspect

    from survey.sampling import views

    reasons = {node.args[1].value for node in ast.walk(ast.parse(inspect.getsource(service)))
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "WaveError"
               and len(node.args) > 1}
    assert {"code_taken", "frozen", "transition", "unit_in_use", "quota"} <= reasons
    values = {"code": "W", "opens_on": D1, "closes_on": D2, "year": 1999, "current": "draft",
              "wanted": "closed", "status": "open", "group": "g", "questionnaire": "q", "version": "1",
              "unit": "U", "day": D1, "stratum": "S", "quota": 0}
    with app.test_request_context("/staff/waves/"):
        generic = views.refusal(service.WaveError("x", "no-such-reason"))
        for reason in sorted(reasons):
            said = views.refusal(service.WaveError("x", reason, **values))
            assert said != generic and said.strip(), reason
