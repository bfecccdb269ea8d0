"""Feed analysis.overall for one year: framework version, self-assessment, survey, SIPAS and external points.

- Framework: the PAR framework version the year's waves are pinned to (the newest pin), else the
  newest published PAR framework.
- Self-assessment points: each unit's assessment of the year on that framework version
  (``survey.assessment.service.points_by_unit``): the appraised score where there is one, else the
  self-score; a node with neither counts 0 and is listed as missing.
- Survey and SIPAS points: every wave of the year with complete responses is analysed with the
  framework and questionnaire versions it is pinned to (``analysis.indices.par_points`` and
  ``analysis.overall_inputs.sipas_parts``); a unit's part comes from the last wave (by code) that
  measured it, and the page says which waves were used.
- External points: the ``external_points`` table.
- Previous year: the same computation for year - 1; merged units through ``unit_predecessors``.

Everything is computed over all units (ranks are among all units of the year) and then filtered to
the user's scope by the page.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.overall import Part, UnitInput, UnitResult, overall
from survey.instruments import frameworks as framework_service
from survey.instruments.models import FrameworkVersion, IndexFramework, WaveFramework
from survey.overall.models import ExternalPoints
from survey.sampling.models import Unit, UnitPredecessor, Wave, WaveUnit

# Unit kind -> the group it is ranked in: agencies apart from commune-level units.
RANK_GROUPS = {
    "agency": "agency",
    "commune": "commune",
    "ward": "commune",
    "special_zone": "commune",
    "district": "district",
    "province": "province",
}


@dataclass
class YearIndex:
    """The overall index of a year: the framework version used, the results and what they rest on."""

    year: int
    framework: FrameworkVersion | None
    results: list[UnitResult] = field(default_factory=list)
    waves: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def assessment_points_for_year(
    session: Session, year: int, unit_ids: list[int], version_id: int
) -> dict[int, dict[str, float]]:
    """Self-assessment points per unit of the year on the framework version (appraised where present)."""
    from survey.assessment.service import points_by_unit

    return points_by_unit(session, year, unit_ids, version_id=version_id)


def par_framework(session: Session, year: int) -> FrameworkVersion | None:
    """The PAR framework version of a year: the newest its waves are pinned to, else the newest published."""
    pinned = session.scalars(
        select(FrameworkVersion)
        .join(WaveFramework, WaveFramework.framework_version_id == FrameworkVersion.id)
        .join(Wave, Wave.id == WaveFramework.wave_id)
        .where(Wave.year == year)
        .order_by(FrameworkVersion.id.desc())
    ).all()
    for version in pinned:
        if version.definition.get("index") == "par":
            return version
    for framework in session.scalars(select(IndexFramework).order_by(IndexFramework.code)):
        newest = framework_service.latest(session, framework.code)
        if newest is not None and newest.definition.get("index") == "par":
            return newest
    return None


def _survey_parts(session: Session, year: int, par: dict, result: YearIndex) -> dict[str, dict[str, Part]]:
    """Unit code -> {"survey"/"sipas": Part} from the year's waves."""
    from analysis.indices import par_points
    from analysis.overall_inputs import sipas_parts, survey_parts
    from analysis.weights import wave_design
    from survey.responses import export

    parts: dict[str, dict[str, Part]] = {}
    for wave in session.scalars(select(Wave).where(Wave.year == year).order_by(Wave.code)):
        responses = export.responses_frame(session, wave)
        if responses.empty:
            continue
        found = export.documents(session, wave, current_app.config["QUESTIONNAIRE_DIRS"])
        design = wave_design(responses, export.strata_frame(session, wave), wave=wave.code)
        used = False
        for code, document in found.frameworks.items():
            linked = [q for q in found.questionnaires.values() if q.get("framework") == code]
            if not linked:
                continue
            if document.get("index") == "par" and document["id"] == par["id"]:
                table = par_points(design, linked, par)
                measured = survey_parts(table, par)
                method = "survey"
            elif document.get("index") == "sipas":
                measured = sipas_parts(design, linked, document, par)
                method = "sipas"
            else:
                continue
            for unit, part in measured.items():
                parts.setdefault(unit, {})[method] = part
                used = True
        if used:
            result.waves.append(wave.code)
    return parts


def compute_year(session: Session, year: int, with_previous: bool = True) -> YearIndex:
    """The overall index of every unit with data in the year (ranked, with the change if asked)."""
    version = par_framework(session, year)
    result = YearIndex(year, version)
    if version is None:
        result.notes.append("no_framework")
        return result
    par = version.definition
    parts = _survey_parts(session, year, par, result)
    external: dict[int, dict[str, float]] = {}
    for row in session.scalars(
        select(ExternalPoints).where(
            ExternalPoints.year == year, ExternalPoints.framework_id == version.framework_id
        )
    ):
        external.setdefault(row.unit_id, {})[row.node_code] = row.points
    wave_units = set(
        session.scalars(
            select(WaveUnit.unit_id).join(Wave, Wave.id == WaveUnit.wave_id).where(Wave.year == year)
        )
    )
    units = {u.code: u for u in session.scalars(select(Unit))}
    ids = sorted(wave_units | set(external) | {units[c].id for c in parts if c in units})
    # Every unit assessed this year counts, whether or not a wave rated it.
    assessed = assessment_points_for_year(session, year, [u.id for u in units.values()], version.id)
    ids = sorted(set(ids) | set(assessed))
    by_id = {u.id: u for u in units.values()}
    inputs = [
        UnitInput(
            by_id[i].code,
            by_id[i].name,
            assessed.get(i, {}),
            external.get(i, {}),
            parts.get(by_id[i].code, {}),
            RANK_GROUPS.get(by_id[i].kind, by_id[i].kind),
        )
        for i in ids
    ]
    previous, predecessors = {}, {}
    if with_previous:
        before = compute_year(session, year - 1, with_previous=False)
        previous = {r.unit: (r.index, r.se) for r in before.results if r.index == r.index}
        for unit_id, predecessor_id in session.execute(
            select(UnitPredecessor.unit_id, UnitPredecessor.predecessor_id)
        ):
            if unit_id in by_id and predecessor_id in by_id:
                predecessors.setdefault(by_id[unit_id].code, []).append(by_id[predecessor_id].code)
    result.results = overall(par, inputs, previous, predecessors)
    return result
