"""The wave service: the one place that creates waves, strata, frame entries, invitations and scopes."""

from datetime import date

import pytest
from sqlalchemy import select

from survey.auth.models import AuditLog, User
from survey.sampling import service, tokens
from survey.sampling.models import Invitation, WaveUnit
from tests.factories import make_group, make_staff, make_unit, make_version

KEY = "k" * 40
D1, D2 = date(2026, 3, 1), date(2026, 5, 31)


def draft(session, code="CCHC-2026"):
    """A draft wave with one group answering the small questionnaire and one commune."""
    wave = service.create_wave(session, code, 2026, "Khảo sát CCHC năm 2026", D1, D2)
    group = make_group(session)
    make_version(session)
    service.assign_group(session, wave, group.code, "small")
    commune = make_unit(session)
    service.add_units(session, wave, [commune])
    return wave, group, commune


def test_create_refuses_taken_code_and_backward_dates(session):
    """A wave code is unique and a wave cannot close before it opens."""
    service.create_wave(session, "W", 2026, "Đợt", D1, D2)
    with pytest.raises(service.WaveError, match="exists already"):
        service.create_wave(session, "W", 2026, "Đợt", D1, D2)
    with pytest.raises(service.WaveError, match="before it opens"):
        service.create_wave(session, "W2", 2026, "Đợt", D2, D1)


def test_status_moves_forward_only_and_opening_needs_groups_and_units(session):
    """draft → open → closed; an empty wave cannot open and a closed one never reopens."""
    empty = service.create_wave(session, "EMPTY", 2026, "Đợt", D1, D2)
    with pytest.raises(service.WaveError, match="respondent group"):
        service.set_status(session, empty, "open")
    wave, _group, _commune = draft(session)
    with pytest.raises(service.WaveError, match="from draft to closed"):
        service.set_status(session, wave, "closed")
    service.set_status(session, wave, "open")
    service.set_status(session, wave, "closed")
    with pytest.raises(service.WaveError, match="from closed to open"):
        service.set_status(session, wave, "open")


def test_set_up_is_frozen_once_the_wave_is_open(session):
    """Groups, units and strata of an open wave cannot change under its responses."""
    wave, group, _commune = draft(session)
    service.set_status(session, wave, "open")
    with pytest.raises(service.WaveError, match="can no longer change"):
        service.assign_group(session, wave, group.code, "small")
    with pytest.raises(service.WaveError, match="can no longer change"):
        service.add_units(session, wave, [make_unit(session)])
    with pytest.raises(service.WaveError, match="can no longer change"):
        service.add_stratum(session, wave, "S", 10, 5)


def test_assign_refuses_unknown_group_and_unpublished_version(session):
    """Only an existing group and a published questionnaire version can be assigned."""
    wave, group, _commune = draft(session)
    with pytest.raises(service.WaveError, match="no respondent group"):
        service.assign_group(session, wave, "nobody", "small")
    with pytest.raises(service.WaveError, match="not published"):
        service.assign_group(session, wave, group.code, "small", version="99")
    assert service.assignment(session, wave.id, group.id).questionnaire_version.version == "1"


def test_subtree_and_units_outside_the_wave_dates(session):
    """A subtree gives a unit and everything under it; a unit gone by the opening day is refused."""
    province = make_unit(session, kind="province")
    agency = make_unit(session, kind="agency", parent_id=province.id)
    commune = make_unit(session, parent_id=province.id)
    make_unit(session)  # elsewhere
    codes = [u.code for u in service.subtree(session, province.code, ("agency", "commune"))]
    assert codes == sorted([agency.code, commune.code])
    wave = service.create_wave(session, "W", 2026, "Đợt", D1, D2)
    gone = make_unit(session, valid_from=date(2000, 1, 1), valid_to=date(2025, 6, 30))
    with pytest.raises(service.WaveError, match="does not exist on"):
        service.add_units(session, wave, [gone])
    assert service.add_units(session, wave, [agency, commune]) == 2
    assert service.add_units(session, wave, [agency]) == 0
    assert session.query(WaveUnit).filter_by(wave_id=wave.id).count() == 2


def test_invitation_stores_only_the_token_hash(session):
    """An invitation carries the design codes of its person and the keyed hash of a fresh token.

    The village is the invitation's cluster only when the draw selected villages first; a person
    drawn directly within the stratum has no cluster, whatever village the frame names.
    """
    wave, group, commune = draft(session)
    stratum = service.add_stratum(session, wave, "S1", 500, 2, unit=commune, group=group)
    person = service.add_person(session, wave, stratum, "Nguyễn Văn An", phone="0912345678",
                                cluster_code="thon-1", selection_probability=0.004, cluster_probability=0.2)
    direct = service.add_person(session, wave, stratum, "Trần Thị Bình", phone="0912345679",
                                cluster_code="thon-2", selection_probability=0.004)
    made = service.invite(session, wave, group, person, [commune], KEY)
    stored = session.scalar(select(Invitation).filter_by(id=made.invitation.id))
    assert stored.token_hash == tokens.token_hash(KEY, made.token) != made.token
    assert (stored.stratum_id, stored.cluster_code) == (stratum.id, "thon-1")
    assert stored.frame_entry_id == person.id
    assert service.invite(session, wave, group, direct, [commune], KEY).invitation.cluster_code is None
    assert [u.unit_id for u in stored.units] == [commune.id]
    with pytest.raises(service.WaveError, match="has no questionnaire"):
        service.invite(session, wave, make_group(session), person, [commune], KEY)


def test_impossible_stratum_sizes_are_refused(session):
    """A sample larger than its population is refused with the stratum named."""
    wave, _group, _commune = draft(session)
    with pytest.raises(service.WaveError, match="stratum S9"):
        service.add_stratum(session, wave, "S9", 5, 6)


def test_scope_limits_a_user_to_units(session):
    """Setting a scope writes the user's units and takes away all-units access."""
    user = make_staff(session, "coordinator", all_units=True)
    units = [make_unit(session), make_unit(session)]
    service.set_scope(session, user, units)
    assert sorted(s.unit_id for s in user.scopes) == sorted(u.id for u in units)
    assert user.all_units is False
    service.set_scope(session, user, units[:1])
    assert [s.unit_id for s in user.scopes] == [units[0].id]


def test_wave_commands_set_up_open_and_close(runner, session):
    """`flask waves` creates, assigns, adds a subtree, opens and closes, each with an audit entry."""
    group = make_group(session)
    make_version(session)
    province = make_unit(session, kind="province")
    for _ in range(3):
        make_unit(session, parent_id=province.id)
    session.commit()
    steps = [
        ["create", "CCHC-2026", "--year", "2026", "--name", "Khảo sát CCHC năm 2026",
         "--opens", "2026-03-01", "--closes", "2026-05-31"],
        ["assign", "CCHC-2026", "--group", group.code, "--questionnaire", "small"],
        ["units", "CCHC-2026", "--under", province.code],
        ["open", "CCHC-2026"],
        ["close", "CCHC-2026"],
    ]
    for args in steps:
        result = runner.invoke(args=["waves", *args])
        assert result.exit_code == 0, (args, result.output)
    listed = runner.invoke(args=["waves", "list"]).output
    assert "CCHC-2026\tclosed" in listed and "units: 3" in listed
    actions = set(session.scalars(select(AuditLog.action)))
    assert {"wave.created", "wave.group_assigned", "wave.units_added", "wave.open", "wave.closed"} <= actions


def test_wave_command_refusal_is_one_line_and_writes_nothing(runner, session):
    """A refused change exits non-zero with the reason and leaves the wave as it was."""
    result = runner.invoke(args=["waves", "open", "NOPE"])
    assert result.exit_code != 0 and "no wave NOPE" in result.output
    runner.invoke(args=["waves", "create", "W", "--year", "2026", "--name", "Đợt",
                        "--opens", "2026-03-01", "--closes", "2026-05-31"])
    refused = runner.invoke(args=["waves", "open", "W"])
    assert refused.exit_code != 0 and "respondent group" in refused.output
    assert "W\tdraft" in runner.invoke(args=["waves", "list"]).output


def test_users_create_writes_the_unit_scope(runner, session):
    """`users create --under` scopes a user to a subtree; --unit adds single units; a scope is required."""
    province = make_unit(session, kind="province")
    inside = [make_unit(session, parent_id=province.id) for _ in range(3)]
    lone = make_unit(session)
    session.commit()
    args = ["users", "create", "xa@example.vn", "--name", "Cán bộ xã", "--role", "coordinator",
            "--password", "một-mật-khẩu-đủ-dài"]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "needs --unit or --under" in refused.output
    made = runner.invoke(args=[*args, "--under", province.code, "--unit", lone.code])
    assert made.exit_code == 0 and "scoped to 5 unit(s)" in made.output, made.output
    user = session.scalar(select(User).filter_by(email="xa@example.vn"))
    assert {s.unit_id for s in user.scopes} == {province.id, lone.id, *(u.id for u in inside)}
    rescoped = runner.invoke(args=["users", "scope", "xa@example.vn", "--unit", inside[0].code])
    assert rescoped.exit_code == 0, rescoped.output
    session.expire_all()
    assert [s.unit_id for s in user.scopes] == [inside[0].id]
    unknown = runner.invoke(args=["users", "scope", "xa@example.vn", "--unit", "NOPE"])
    assert unknown.exit_code != 0 and "no unit NOPE" in unknown.output
