"""The overall index of a year from the demo wave: survey, SIPAS, assessment and external points."""

import math
from datetime import date

import pytest
from sqlalchemy import select

from survey.auth.models import AuditLog
from survey.overall.models import ExternalPoints
from survey.overall.service import compute_year
from survey.sampling.models import Unit, UnitPredecessor, Wave, WaveUnit
from tests.factories import csrf_token, log_in, make_unit
from tests.test_framework_versions_report import seeded  # noqa: F401 - the fixture

YEAR = date.today().year


def fixture_points(session, year, unit_ids):
    """Full marks on every self-assessed node of par.1, for each unit."""
    from analysis.instruments import parse_framework
    from survey.overall.service import par_framework

    fw = parse_framework(par_framework(session, year).definition)
    full = {
        c: n.max_points
        for c, n in fw.nodes.items()
        if not n.children and n.method == "self_assessed" and c.startswith("par.1.")
    }
    return {i: full for i in unit_ids}


@pytest.fixture
def assessed(seeded, app, session):  # noqa: F811 - the fixture imported above
    """The demo province, each rated unit with an assessment of the year scoring full marks on par.1."""
    from survey.assessment import service as assessments
    from survey.assessment.models import AssessmentItem
    from survey.overall.service import par_framework

    version = par_framework(session, YEAR)
    units = demo_units(session)
    full = fixture_points(session, YEAR, [u.id for u in units])
    for unit in units:
        assessment = assessments.create(session, unit, YEAR, version)
        session.flush()
        for item in session.scalars(select(AssessmentItem).filter_by(assessment_id=assessment.id)):
            item.self_score = full[unit.id].get(item.node_code)
    session.commit()
    return app


def demo_units(session):
    """The units rated in the demo wave."""
    wave = session.scalar(select(Wave).filter_by(year=YEAR))
    return session.scalars(
        select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id).where(WaveUnit.wave_id == wave.id)
    ).all()


def test_year_index_combines_the_parts_with_an_interval(assessed, session):
    """Units with answers get survey points with an SE; self-assessed par.1 points come from the provider."""
    computed = compute_year(session, YEAR)
    full = next(iter(fixture_points(session, YEAR, [0]).values()))
    assert computed.framework.definition["id"] == "par-province-2024"
    assert computed.waves == ["CCHC-DEMO"]
    measured = [r for r in computed.results if r.variance != "none"]
    assert measured, [r.unit for r in computed.results]
    for r in measured:
        if r.df == 0:  # too few sampled units for a t test: effective-n interval, cannot be ranked
            assert r.ci_low <= r.index <= r.ci_high and r.rank is None
        else:
            assert r.se >= 0 and r.ci_low <= r.index <= r.ci_high and r.rank is not None
        assert not set(r.missing) & set(full)  # every self-assessed node of par.1 counted
        assert r.grade == "C"  # most nodes have no self-assessment: far below 80%
    assert all(r.missing for r in computed.results)
    assert any(r.se > 0 and r.df and r.df > 0 for r in measured)  # communes: SIPAS part with an interval


def test_page_shows_the_table_and_external_points_are_entered_and_audited(assessed, client, session):
    """An analyst sees the table; a coordinator enters external points (a bad value writes nothing)."""
    unit = demo_units(session)[0]
    log_in(client, session, "analyst")
    page = client.get(f"/staff/index/{YEAR}")
    assert page.status_code == 200
    assert unit.name in page.text and "KTC 95%" in page.text and "số liệu tạm thời" in page.text
    log_in(client, session, "coordinator")
    url = f"/staff/index/{YEAR}/external/{unit.code}"
    token = csrf_token(client, url)
    bad = client.post(url, data={"csrf_token": token, "par.3.3.1": "7", "par.8.3": "x"})
    assert bad.status_code == 422 and "Điểm phải từ 0 đến 1.5" in bad.text
    assert session.scalars(select(ExternalPoints)).all() == []
    good = client.post(url, data={"csrf_token": token, "par.3.3.1": "1,5", "note": "Hệ thống TTHC tỉnh"})
    assert good.status_code == 302
    stored = session.scalars(select(ExternalPoints)).one()
    assert (stored.node_code, stored.points, stored.year) == ("par.3.3.1", 1.5, YEAR)
    assert (
        session.scalars(select(AuditLog).filter_by(action="overall.external_points")).one().target
        == f"{unit.code}:{YEAR}:par.3.3.1"
    )
    before = {r.unit: r.points for r in compute_year(session, YEAR).results}
    assert before[unit.code] >= 1.5
    again = client.post(url, data={"csrf_token": token, "par.3.3.1": "1"})
    session.expire_all()  # the request changed the row in its own session
    assert again.status_code == 302 and session.scalars(select(ExternalPoints)).one().points == 1
    audited = select(AuditLog).filter_by(action="overall.external_points").order_by(AuditLog.id)
    changes = session.scalars(audited)
    assert [(e.details["previous"], e.details["points"]) for e in changes] == [(None, 1.5), (1.5, 1.0)]


def test_merged_unit_is_compared_with_its_predecessors(assessed, session):
    """Last year's index of two old communes gives the change of the unit they merged into."""
    units = demo_units(session)
    old = [
        make_unit(session, name=f"Xã cũ {i}", valid_from=date(2020, 1, 1), valid_to=date(2025, 6, 30))
        for i in range(2)
    ]
    for o in old:
        session.add(UnitPredecessor(unit_id=units[0].id, predecessor_id=o.id))
    last = Wave(
        code="OLD",
        year=YEAR - 1,
        name="Năm trước",
        status="closed",
        opens_on=date(YEAR - 1, 1, 1),
        closes_on=date(YEAR - 1, 2, 1),
    )
    session.add(last)
    session.flush()
    for o in old:
        session.add(WaveUnit(wave_id=last.id, unit_id=o.id))
    session.commit()
    previous = {r.unit: r for r in compute_year(session, YEAR - 1, with_previous=False).results}
    assert set(previous) == {o.code for o in old}
    now = {r.unit: r for r in compute_year(session, YEAR).results}[units[0].code]
    assert now.previous_provisional and sorted(now.previous_from) == sorted(o.code for o in old)
    assert now.previous == pytest.approx(sum(previous[o.code].index for o in old) / 2)
    assert now.change == pytest.approx(now.index - now.previous)


def test_index_compute_command_prints_every_unit(assessed, runner, session):
    """`flask index compute YEAR` prints the framework, the waves and one line per unit."""
    result = runner.invoke(args=["index", "compute", str(YEAR)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("framework par-province-2024 2024.1; waves: CCHC-DEMO")
    assert len(lines) == 2 + len(compute_year(session, YEAR).results)
    assert any("\tagency\t" in line for line in lines) and any("\tcommune\t" in line for line in lines)


def test_appraisal_of_two_nodes_moves_total_field_index_and_interval(assessed, session):
    """A unit with a survey part: lowering two appraised nodes lowers its points by exactly that much,
    its par.1 component index and total index accordingly, and moves its 95% interval down with it
    (a logit-scale interval on the 0-100 scale: recomputed around the new index, not shifted)."""
    from survey.assessment import service as assessments
    from survey.assessment.models import Assessment
    from tests.factories import make_staff

    before_all = {r.unit: r for r in compute_year(session, YEAR).results}
    code = next(c for c, r in before_all.items() if r.se > 0 and math.isfinite(r.ci_low))
    before = before_all[code]
    unit = session.scalar(select(Unit).filter_by(code=code))
    assessment = session.scalar(select(Assessment).filter_by(unit_id=unit.id, year=YEAR))
    assessment.status = "approved"  # the workflow itself is tested in tests/assessment
    approver = make_staff(session, "approver")
    first, second = [i for i in assessment.items if i.self_score][:2]
    lowered = {first.node_code: 0.0, second.node_code: second.self_score / 2}
    for node, score in lowered.items():
        assessments.appraise_item(session, assessment, node, score, "Kết quả thẩm định của Bộ.", approver)
    session.commit()
    difference = (0.0 - first.self_score) + (second.self_score / 2 - second.self_score)

    after = {r.unit: r for r in compute_year(session, YEAR).results}[code]
    assert after.points == pytest.approx(before.points + difference)
    assert after.index == pytest.approx(before.index + difference / before.max_points * 100)
    field_before = next(f for f in before.fields if f.code == "par.1")
    field_after = next(f for f in after.fields if f.code == "par.1")
    assert field_after.points == pytest.approx(field_before.points + difference)
    assert field_after.index == pytest.approx(field_after.points / field_after.max_points * 100)
    assert difference < 0 and after.ci_low < before.ci_low and after.ci_high < before.ci_high
    assert 0 <= after.ci_low <= after.index <= after.ci_high <= 100
    assert after.se == pytest.approx(before.se)  # appraised points carry no sampling error
    assert after.grade == ("A" if after.index >= 90 else "B" if after.index >= 80 else "C")
