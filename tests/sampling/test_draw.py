"""The draw: the planner's probabilities and sizes, its reproducibility, and the stored sample.

Planner tests use small frames built in memory; service, page and command tests draw from a frame
written through the wave service and read back what the database holds.
"""

import math
import re
from collections import Counter
from datetime import date

import numpy as np
import pytest
from sqlalchemy import func, select

from survey.auth.models import AuditLog, UserUnit
from survey.sampling import draw, service
from survey.sampling.models import Draw, FrameEntry, Stratum
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, log_in, make_group, make_invitation, make_unit, make_version

D1, D2 = date(2026, 3, 1), date(2026, 5, 31)
VILLAGES = {"T1": 400, "T2": 30, "T3": 45, "T4": 60, "T5": 25, "T6": 40}  # 600 people, T1 certain for k=3


def stratum(code="S", size=1000, census=False, villages=None) -> draw.FrameStratum:
    """A stratum of `size` people (ids 1..), or of villages of the given sizes."""
    if villages is None:
        return draw.FrameStratum(1, code, census, [(i, f"V{i % 9}") for i in range(1, size + 1)])
    entries = [(i, v) for i, v in enumerate((v for v, n in villages.items() for _ in range(n)), start=1)]
    return draw.FrameStratum(1, code, census, entries)


def ids(planned: draw.Plan) -> list[int]:
    """The selected frame entries of a plan."""
    return [s.entry_id for st in planned.strata for s in st.selected]


# --- The planner -----------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    draw.DrawParameters(size=50), draw.DrawParameters(method="systematic", size=50),
    draw.DrawParameters(clusters=3, per_cluster=10), draw.DrawParameters(method="systematic", margin=0.1,
                                                                          per_cluster=8)])
def test_same_frame_parameters_and_seed_give_the_same_selection(params):
    """Reproducible: the same seed selects the same people; another seed selects others."""
    frame = [stratum(villages=VILLAGES)]
    first = draw.plan(frame, params, 20260301)
    assert ids(first) == ids(draw.plan(frame, params, 20260301))
    assert ids(first) != ids(draw.plan(frame, params, 20260302))


def test_a_stratum_draws_the_same_alone_or_with_others():
    """Each stratum's randomness comes from the seed and its code only (scoped draws agree)."""
    a, b = stratum("A", 300), draw.FrameStratum(2, "B", False, [(i, None) for i in range(5000, 5400)])
    params = draw.DrawParameters(size=40)
    both = draw.plan([a, b], params, 7)
    assert [s.entry_id for s in both.strata[1].selected] == ids(draw.plan([b], params, 7))


def test_simple_random_sample_probabilities_and_weights_sum_to_the_population():
    """SRS: n distinct people, each with probability n/N; the sum of 1/p over the sample is N."""
    planned = draw.plan([stratum(size=1000)], draw.DrawParameters(size=120), 1)
    selected = planned.strata[0].selected
    assert len({s.entry_id for s in selected}) == 120
    assert {s.probability for s in selected} == {120 / 1000}
    assert all(s.cluster_probability is None for s in selected)
    assert sum(1 / s.probability for s in selected) == pytest.approx(1000)


def test_systematic_sample_takes_every_kth_person_in_the_stated_order():
    """Systematic: n/N each; along the frame ordered by village then row, the gaps are N/n."""
    frame = stratum(size=1000)
    planned = draw.plan([frame], draw.DrawParameters(method="systematic", size=100), 3)
    selected = planned.strata[0].selected
    assert len(selected) == 100 and {s.probability for s in selected} == {0.1}
    order = [e for e, _ in sorted(frame.entries, key=lambda e: (e[1], e[0]))]
    positions = sorted(order.index(s.entry_id) for s in selected)
    assert set(np.diff(positions)) == {10}


def test_systematic_inclusion_frequencies_are_n_over_N():
    """With a fractional interval (N=7, n=3) every person is drawn in 3/7 of the starts."""
    frame = draw.FrameStratum(1, "S", False, [(i, None) for i in range(7)])
    counts = Counter()
    runs = 7000
    for seed in range(runs):
        chosen = ids(draw.plan([frame], draw.DrawParameters(method="systematic", size=3), seed))
        assert len(chosen) == 3
        counts.update(chosen)
    for i in range(7):
        assert counts[i] / runs == pytest.approx(3 / 7, abs=0.025)


def test_census_of_officials_selects_everyone_with_probability_one():
    """A census stratum is taken whole, whatever the size asked."""
    planned = draw.plan([stratum(size=40, census=True)], draw.DrawParameters(size=5), 1)
    assert planned.strata[0].sample_size == 40 and planned.strata[0].margin == 0
    assert {s.probability for s in planned.strata[0].selected} == {1.0}


def test_sizes_from_a_margin_of_error_match_the_hand_computed_value():
    """e = 5%, p = 0.5, N = 1000: n0 = 1.96² × 0.25 / 0.0025 = 384.15; n = n0 / (1 + 383.15/1000) → 278."""
    assert draw.sample_size(1000, 0.05) == 278
    assert draw.sample_size(10**9, 0.05) == 385  # no correction left: ceil(384.15)
    assert draw.sample_size(100, 0.05) == 80  # 384.15 / (1 + 383.15/100) = 79.5
    assert draw.sample_size(1000, 0.05, deff=2) == 435  # n0 = 768.3: 768.3 / 1.7673 = 434.7
    assert draw.sample_size(1000, 0.05, p=0.2) == 198  # n0 = 245.9: 245.9 / 1.2449 = 197.5
    assert draw.sample_size(30, 0.01) == 30  # capped at the population
    assert draw.sample_size(1000, 0.05, formula="yamane") == 286  # 1000 / (1 + 1000 × 0.0025) = 285.7
    assert draw.sample_size(2500, 0.05, formula="yamane") == 345  # 2500 / 7.25 = 344.8
    assert draw.margin_of_error(1000, 278) == pytest.approx(0.05, abs=2e-4)
    planned = draw.plan([stratum(size=1000)], draw.DrawParameters(margin=0.05), 1)
    assert planned.strata[0].sample_size == 278 and planned.strata[0].margin <= 0.05


def test_pps_inclusion_probabilities_with_a_certainty_village():
    """k=3 of 600 people: T1 (400 ≥ 600/3) is certain; the others are drawn with 2 × size / 200."""
    frame = stratum(villages=VILLAGES)
    planned = draw.plan([frame], draw.DrawParameters(clusters=3, per_cluster=10), 11)
    plan = planned.strata[0]
    assert (plan.clusters_drawn, plan.certainty, plan.clusters_total) == (3, 1, 6)
    village = dict(frame.entries)
    for s in plan.selected:
        size = VILLAGES[village[s.entry_id]]
        expected = 1.0 if village[s.entry_id] == "T1" else 2 * size / 200
        assert s.cluster_probability == pytest.approx(expected)
        assert s.within_probability == pytest.approx(min(10, size) / size)
        assert s.probability == pytest.approx(s.cluster_probability * s.within_probability)
    assert draw.pps_clusters({"A": 10, "B": 10}, 5, np.random.default_rng(1)) == {"A": 1, "B": 1}


def test_pps_village_frequencies_and_weights_are_unbiased_over_many_seeds():
    """Over many seeds each village is drawn K × size / total of the time (certainty aside), and the
    mean over draws of the sum of 1/p over the sample is the population (Horvitz-Thompson)."""
    villages = {"A": 12, "B": 3, "C": 5, "D": 2, "E": 8}  # 30 people; k=2: A (12 ≥ 15) is not certain
    frame = stratum(villages=villages)
    village = dict(frame.entries)
    params = draw.DrawParameters(clusters=2, per_cluster=4)  # B and D are smaller than 4: taken whole
    runs, drawn, totals = 4000, Counter(), []
    for seed in range(runs):
        plan = draw.plan([frame], params, seed).strata[0]
        drawn.update({village[s.entry_id] for s in plan.selected})
        totals.append(sum(1 / s.probability for s in plan.selected))
    for code, size in villages.items():
        assert drawn[code] / runs == pytest.approx(2 * size / 30, abs=0.03)
    assert np.mean(totals) == pytest.approx(30, rel=0.03)
    # With a certainty village the same holds: 600 people, 3 villages.
    params = draw.DrawParameters(clusters=3, per_cluster=20)
    certain = [sum(1 / s.probability for s in draw.plan([stratum(villages=VILLAGES)], params, seed)
                   .strata[0].selected) for seed in range(300)]
    assert np.mean(certain) == pytest.approx(600, rel=0.02)


def test_village_count_from_a_size_and_refusals():
    """With --per-cluster a size gives ceil(size / per_cluster) villages; unclear parameters are refused."""
    plan = draw.plan([stratum(villages=VILLAGES)], draw.DrawParameters(size=25, per_cluster=10), 2).strata[0]
    assert plan.clusters_drawn == 3
    for bad in (draw.DrawParameters(), draw.DrawParameters(size=5, margin=0.05),
                draw.DrawParameters(clusters=2), draw.DrawParameters(method="pps", size=3),
                draw.DrawParameters(margin=1.5), draw.DrawParameters(size=0)):
        with pytest.raises(service.WaveError) as refused:
            draw.plan([stratum()], bad, 1)
        assert refused.value.reason == "draw_parameters"
    with pytest.raises(service.WaveError, match="seed"):
        draw.plan([stratum()], draw.DrawParameters(size=3), -1)
    no_village = draw.FrameStratum(1, "S", False, [(1, "T1"), (2, None)])
    with pytest.raises(service.WaveError) as refused:
        draw.plan([no_village], draw.DrawParameters(clusters=1, per_cluster=1), 1)
    assert refused.value.reason == "draw_no_cluster"


# --- The service -----------------------------------------------------------------------------------

def frame_wave(session, people: int = 200, officials: int = 12, code: str = "CCHC-2026"):
    """A draft wave with citizens of two communes (villages T1..T4) and officials of the first."""
    wave = service.create_wave(session, code, 2026, "Khảo sát CCHC năm 2026", D1, D2)
    citizens = make_group(session, code=f"nguoi_dan_{code}", kind="citizen")
    officials_group = make_group(session, code=f"can_bo_{code}", kind="official")
    make_version(session)
    for group in (citizens, officials_group):
        service.assign_group(session, wave, group.code, "small")
    units = [make_unit(session, name="Xã An Phú"), make_unit(session, name="Xã Bình Minh")]
    service.add_units(session, wave, units)
    people_rows = [service.Person(f"{u.code}:dan", u.id, citizens.id, f"Người {u.code} {i}",
                                  cluster_code=f"T{1 + i % 4}")
                   for u in units for i in range(people)]
    people_rows += [service.Person(f"{units[0].code}:cb", units[0].id, officials_group.id, f"Cán bộ {i}")
                    for i in range(officials)]
    service.replace_frame(session, wave, people_rows, {officials_group.id})
    session.commit()
    return wave, units, citizens


def stored(session, wave) -> dict:
    """Selected frame entry id -> (cluster p, within p, p, draw id)."""
    session.expire_all()
    return {e.id: (e.cluster_probability, e.within_probability, e.selection_probability, e.draw_id)
            for e in session.scalars(select(FrameEntry).where(FrameEntry.wave_id == wave.id,
                                                              FrameEntry.selection_probability.is_not(None)))}


def test_draw_stores_probabilities_sizes_and_the_draw(session):
    """Selected people carry both stages and their product; strata their sizes; the draw its record."""
    wave, units, _ = frame_wave(session)
    kept, planned = draw.draw(session, wave, draw.DrawParameters(clusters=2, per_cluster=15), 99)
    session.commit()
    rows = stored(session, wave)
    assert len(rows) == planned.selected == 2 * 2 * 15 + 12
    for entry in session.scalars(select(FrameEntry).filter_by(wave_id=wave.id)):
        if entry.id in rows:
            cluster_p, within_p, p, draw_id = rows[entry.id]
            assert draw_id == kept.id and p == pytest.approx((cluster_p or 1) * within_p)
    strata = {s.code: s for s in session.scalars(select(Stratum).filter_by(wave_id=wave.id))}
    first = strata[f"{units[0].code}:dan"]
    assert (first.population_size, first.sample_size) == (200, 30)
    assert strata[f"{units[0].code}:cb"].sample_size == 12
    record = session.get(Draw, kept.id)
    assert (record.seed, record.method, record.selected, record.population, record.strata_count,
            record.clusters) == (99, "srs", 72, 412, 3, 4)
    assert record.parameters["clusters"] == 2 and {s["code"] for s in record.strata} == set(strata)
    # Every village has 50 people: cluster p = 2 × 50 / 200, within 15 / 50, product 0.15 = 30 / 200.
    citizens = [v for v in rows.values() if v[0] is not None]
    assert {round(v[2], 9) for v in citizens} == {0.15}


def test_redraw_replaces_the_earlier_draw(session):
    """A second draw of the same strata replaces the selection; the same seed gives the same one."""
    wave, _, _ = frame_wave(session)
    draw.draw(session, wave, draw.DrawParameters(size=20), 5)
    first = set(stored(session, wave))
    second, _ = draw.draw(session, wave, draw.DrawParameters(size=10), 6)
    rows = stored(session, wave)
    assert len(rows) == 2 * 10 + 12 and {v[3] for v in rows.values()} == {second.id}
    assert rows.keys() != first
    draw.draw(session, wave, draw.DrawParameters(size=20), 5)
    assert set(stored(session, wave)) == first


def test_draw_refused_once_invited_or_not_a_draft(session):
    """Invitations for a stratum, or a wave that is open, refuse the draw and write nothing."""
    wave, units, citizens = frame_wave(session)
    stratum_row = session.scalar(select(Stratum).filter_by(wave_id=wave.id, code=f"{units[0].code}:dan"))
    make_invitation(session, TEST_SECRET, wave=wave, group=citizens, units=[units[0]], stratum=stratum_row)
    session.commit()
    with pytest.raises(service.WaveError) as refused:
        draw.draw(session, wave, draw.DrawParameters(size=10), 1)
    assert refused.value.reason == "draw_invited"
    session.rollback()
    assert stored(session, wave) == {} and session.scalar(select(func.count()).select_from(Draw)) == 0
    # The other commune can still be drawn on its own.
    kept, _ = draw.draw(session, wave, draw.DrawParameters(size=10), 1, scope={units[1].id})
    assert kept.strata_count == 1
    service.set_status(session, wave, "open")
    with pytest.raises(service.WaveError) as refused:
        draw.draw(session, wave, draw.DrawParameters(size=10), 1, scope={units[1].id})
    assert refused.value.reason == "frozen"


# --- The page and the command ----------------------------------------------------------------------

def form(client, wave, **values) -> dict:
    """The draw form's fields with a fresh form token."""
    return {"csrf_token": csrf_token(client, f"/staff/waves/{wave.code}/draw"), "method": "srs"} | values


def test_page_previews_then_keeps_the_same_draw(client, session):
    """Preview shows sizes, margins and villages without writing; keep re-runs the seed and stores it."""
    wave, units, _ = frame_wave(session)
    log_in(client, session, "coordinator")
    page = client.get(f"/staff/waves/{wave.code}/draw")
    assert page.status_code == 200 and f"<code>{units[1].code}</code>" in page.text
    assert f"/staff/waves/{wave.code}/draw" in client.get(f"/staff/waves/{wave.code}").text
    preview = client.post(f"/staff/waves/{wave.code}/draw", data=form(client, wave, margin="10", preview="y"))
    assert preview.status_code == 200
    seed = int(re.search(r'name="seed" value="(\d+)"', preview.text).group(1))
    expected = draw.sample_size(200, 0.10)  # 66
    assert "Xem trước kết quả rút mẫu" in preview.text
    assert f"± {100 * draw.margin_of_error(200, expected):.1f}%" in preview.text
    assert f"<td>{expected}</td>" in preview.text and "(toàn bộ)" in preview.text
    assert stored(session, wave) == {}
    planned = draw.preview(session, wave, draw.DrawParameters(margin=0.1), seed)
    kept = client.post(f"/staff/waves/{wave.code}/draw",
                       data=form(client, wave, margin="10.0", p="50.0", deff="1.0", seed=str(seed), keep="y"))
    assert kept.status_code == 303
    assert set(stored(session, wave)) == set(ids(planned))
    entry = session.scalars(select(AuditLog).filter_by(action="wave.drawn")).one()
    assert entry.details["seed"] == seed and entry.details["selected"] == 2 * expected + 12
    assert str(seed) in client.get(f"/staff/waves/{wave.code}/draw").text
    refused = client.post(f"/staff/waves/{wave.code}/draw",
                          data=form(client, wave, size="5", margin="5", preview="y"))
    assert refused.status_code == 422 and "Chọn đúng một cách xác định cỡ mẫu" in refused.text
    english = client.post(f"/staff/waves/{wave.code}/draw?lang=en",
                          data=form(client, wave, clusters="2", per_cluster="10", seed="3", preview="y"))
    assert english.status_code == 200
    assert "Preview of the draw" in english.text and "2 of 4" in english.text
    assert "Expected margin of error (95%)" in english.text


def test_scoped_coordinator_sees_and_draws_only_their_units(client, session):
    """Scoped to the second commune: its strata only, on the page and in the draw."""
    wave, units, _ = frame_wave(session)
    user = log_in(client, session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=units[1].id))
    session.commit()
    page = client.get(f"/staff/waves/{wave.code}/draw").text
    assert f"<code>{units[1].code}</code>" in page and f"<code>{units[0].code}</code>" not in page
    kept = client.post(f"/staff/waves/{wave.code}/draw",
                       data=form(client, wave, size="7", seed="4", keep="y"))
    assert kept.status_code == 303
    strata = set(session.scalars(select(Stratum.code).join(FrameEntry, FrameEntry.stratum_id == Stratum.id)
                                 .where(FrameEntry.selection_probability.is_not(None))))
    assert strata == {f"{units[1].code}:dan"}


def test_page_refuses_an_open_wave_politely(client, session):
    """An open wave shows no form; a post is refused in Vietnamese and writes nothing."""
    wave, _, _ = frame_wave(session)
    token = (log_in(client, session, "coordinator"), csrf_token(client, f"/staff/waves/{wave.code}/draw"))[1]
    service.set_status(session, wave, "open")
    session.commit()
    assert "không rút mẫu lại được" in client.get(f"/staff/waves/{wave.code}/draw").text
    refused = client.post(f"/staff/waves/{wave.code}/draw",
                          data={"csrf_token": token, "method": "srs", "size": "5", "keep": "y", "seed": "1"})
    assert refused.status_code == 422 and "Đang mở" in refused.text
    assert stored(session, wave) == {}


def test_command_previews_and_draws(runner, session):
    """`waves draw --preview` writes nothing; without it the same seed stores the same selection."""
    wave, units, _ = frame_wave(session)
    args = ["waves", "draw", wave.code, "--method", "systematic", "--clusters", "2", "--per-cluster", "10",
            "--seed", "123"]
    shown = runner.invoke(args=[*args, "--preview"])
    assert shown.exit_code == 0, shown.output
    assert "preview: 52 of 412 people in 3 strata, seed 123; nothing written" in shown.output
    assert f"{units[0].code}:dan\t200\t20\t" in shown.output and "2/4" in shown.output
    assert stored(session, wave) == {}
    done = runner.invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "drawn 52 of 412" in done.output
    planned = draw.preview(session, wave, draw.DrawParameters(method="systematic", clusters=2,
                                                              per_cluster=10), 123)
    assert set(stored(session, wave)) == set(ids(planned))
    assert session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="wave.drawn")) == 1
    refused = runner.invoke(args=["waves", "draw", wave.code, "--size", "5", "--margin", "0.05"])
    assert refused.exit_code != 0 and "exactly one of" in refused.output
    margin = runner.invoke(args=["waves", "draw", wave.code, "--margin", "0.05", "--group",
                                 f"nguoi_dan_{wave.code}", "--preview"])
    assert margin.exit_code == 0 and f"\t200\t{draw.sample_size(200, 0.05)}\t" in margin.output
    yamane = runner.invoke(args=["waves", "draw", wave.code, "--margin", "0.05", "--formula", "yamane",
                                 "--preview"])
    assert yamane.exit_code == 0 and "\t200\t134\t" in yamane.output  # 200 / (1 + 200 × 0.0025) = 133.3
    assert math.isclose(draw.margin_of_error(200, 200), 0)


def test_export_carries_the_draw_probabilities_into_the_weights(session):
    """Invited from a draw with a certainty village, respondents get weights 1/p scaled to N_h."""
    from analysis.weights import wave_design
    from survey.definitions import load
    from survey.responses import export
    from survey.responses import service as responses
    from survey.responses.release import release
    from tests.factories import SMALL_QUESTIONNAIRE

    wave = service.create_wave(session, "PPS", 2026, "Đợt PPS", D1, D2)
    group = make_group(session, kind="citizen")
    version = make_version(session)
    service.assign_group(session, wave, group.code, "small")
    commune = make_unit(session)
    sizes = {"T1": 120, "T2": 30, "T3": 30, "T4": 20}  # k=2: T1 (2 × 120 ≥ 200) is certain
    service.replace_frame(session, wave, [service.Person("S", commune.id, group.id, f"Người {v} {i}",
                                                         cluster_code=v)
                                          for v, n in sizes.items() for i in range(n)], set())
    draw.draw(session, wave, draw.DrawParameters(clusters=2, per_cluster=10), 8)
    selected = session.scalars(select(FrameEntry).where(FrameEntry.selection_probability.is_not(None))
                               .order_by(FrameEntry.id)).all()
    other = next(e.cluster_code for e in selected if e.cluster_code != "T1")
    assert {e.cluster_probability for e in selected if e.cluster_code == "T1"} == {1.0}
    definition = load.from_document(SMALL_QUESTIONNAIRE)
    answered = [e for e in selected if e.cluster_code == "T1"][:3] + [e for e in selected
                                                                      if e.cluster_code == other][:3]
    for person in selected:
        invitation = service.invite(session, wave, group, person, [commune], TEST_SECRET).invitation
        if person in answered:
            draft = responses.start_draft(session, invitation, commune.id, version.id)
            responses.save_answers(session, draft, definition, {"used": "n", "age": 40.0})
            responses.submit(session, draft, invitation, today=D1)
    release(session, 1, force=True)
    session.commit()
    frame = export.responses_frame(session, wave)
    probability = dict(zip(frame["cluster"], frame["selection_probability"], strict=False))
    assert probability["T1"] == pytest.approx(10 / 120)
    assert probability[other] == pytest.approx(sizes[other] / 80 * 10 / sizes[other])  # 1/8
    weights = wave_design(frame, export.strata_frame(session, wave)).data
    by_village = weights.groupby("cluster")["weight"].first()
    assert by_village["T1"] / by_village[other] == pytest.approx(12 / 8)
    assert weights["weight"].sum() == pytest.approx(200)
    # the village stage and the frame's count per village, for the fpc of a certain village
    stage = frame.groupby("cluster")[["cluster_probability", "cluster_population"]].first()
    assert stage.loc["T1"].tolist() == [1.0, 120]
    assert stage.loc[other, "cluster_probability"] == pytest.approx(sizes[other] / 80)
    assert stage.loc[other, "cluster_population"] == sizes[other]
    strata = weights.groupby("cluster")["design_stratum"].first()
    assert strata["T1"] != strata[other]  # T1 represents itself: a stratum of its own
    assert (weights.loc[weights["cluster"] == "T1", "fpc_population"] == 120).all()
