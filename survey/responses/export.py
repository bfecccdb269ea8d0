"""Export a wave's complete responses in the tidy form the analysis package reads.

One row per response with its design codes (stratum, cluster) and one column per item; nothing
that identifies a respondent is selected, because nothing of the kind is on a response.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from analysis.outputs import escape_formulas
from survey.definitions import frameworks as fw
from survey.definitions import load
from survey.instruments import frameworks as framework_service
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.responses import report_meta
from survey.responses.models import Answer, Response
from survey.sampling.models import (
    FrameEntry,
    Invitation,
    InvitationUnit,
    RespondentGroup,
    Stratum,
    Unit,
    Wave,
)

DESIGN_COLUMNS = ["response_id", "wave", "questionnaire", "questionnaire_version", "unit",
                  "unit_name", "group", "stratum", "cluster", "selection_probability",
                  "cluster_probability", "cluster_population", "mode", "language",
                  "submitted_on", "device_class"]


def _value(answer) -> object:
    """Return an answer as the export writes it: codes as text, lists space-separated (XLSForm)."""
    if answer.value_list is not None:
        return " ".join(answer.value_list)
    if answer.value_date is not None:
        return answer.value_date.isoformat()
    return answer.value_number if answer.value_number is not None else answer.value_text


def responses_frame(session: Session, wave: Wave, units: list[int] | None = None, after: str | None = None,
                    limit: int | None = None) -> pd.DataFrame:
    """Return the wave's complete responses, one row each, design columns first.

    By default every response of the wave. The JSON API pages through the same rows: `units` keeps
    the responses of those unit ids, `after` those with a larger response id, `limit` the first so
    many (by response id).
    """
    own_unit = aliased(Unit)
    query = (
        select(Response, Unit.code, Unit.name, RespondentGroup.code, Stratum.code, own_unit.code,
               Questionnaire.code, QuestionnaireVersion.version)
        .join(Unit, Unit.id == Response.unit_id)
        .join(RespondentGroup, RespondentGroup.id == Response.group_id)
        .outerjoin(Stratum, Stratum.id == Response.stratum_id)
        .outerjoin(own_unit, own_unit.id == Stratum.unit_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.questionnaire_version_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(Response.wave_id == wave.id, Response.status == "complete")
        .order_by(Response.id))
    if units is not None:
        query = query.where(Response.unit_id.in_(units))
    if after is not None:
        query = query.where(Response.id > after)
    rows = session.execute(query.limit(limit)).all()
    probability = cell_probabilities(session, wave)
    stages = cluster_stages(session, wave)
    records = []
    for response, unit, unit_name, group, stratum, stratum_unit, code, version in rows:
        record = {"response_id": response.id, "wave": wave.code, "questionnaire": code,
                  "questionnaire_version": version, "unit": unit, "unit_name": unit_name,
                  "group": group, "stratum": cell_code(stratum, stratum_unit, unit),
                  "cluster": response.cluster_code,
                  "selection_probability": probability.get((response.stratum_id, response.cluster_code)),
                  "cluster_probability": stages.get((response.stratum_id, response.cluster_code), (None,))[0],
                  "cluster_population": stages.get((response.stratum_id, response.cluster_code),
                                                   (None, None))[1],
                  "mode": response.mode, "language": response.language,
                  "submitted_on": response.submitted_on.isoformat(),
                  "device_class": response.device_class}
        record |= {f"seconds__{k}": v for k, v in (response.page_seconds or {}).items()}
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=None if records else DESIGN_COLUMNS)
    if not records:
        return frame
    paged = units is not None or after is not None or limit is not None
    return frame.join(_answers_wide(session, wave, list(frame["response_id"]) if paged else None),
                      on="response_id")


def cell_probabilities(session: Session, wave: Wave) -> dict[tuple[int, str | None], float]:
    """Return the selection probability of each (stratum, village) cell of the people invited from the frame.

    The draw (survey/sampling/draw.py) gives everyone of a cell the same probability; should they
    differ, the cell's probability is the harmonic mean (its base weight the mean of 1/p). Only cells
    are described, never a person: a response carries its stratum and village already.
    """
    rows = session.execute(
        select(Invitation.stratum_id, Invitation.cluster_code, func.count(),
               func.sum(1.0 / FrameEntry.selection_probability))
        .join(FrameEntry, FrameEntry.id == Invitation.frame_entry_id)
        .where(Invitation.wave_id == wave.id, Invitation.source == "frame",
               FrameEntry.selection_probability.is_not(None))
        .group_by(Invitation.stratum_id, Invitation.cluster_code)).all()
    return {(stratum, cluster): count / float(inverse) for stratum, cluster, count, inverse in rows}


def cluster_stages(session: Session, wave: Wave) -> dict[tuple[int, str], tuple[float, int]]:
    """Return the village stage of each (stratum, village) cell the draw took villages in.

    ``(probability the village was drawn, people of the frame in the village)``: the first-stage
    probability the draw stored (1 for a village taken with certainty) and the village's count in
    the frame, which :func:`analysis.weights.wave_design` uses as the within-village finite
    population correction of a village taken with certainty. Cells, never persons.
    """
    drawn = session.execute(
        select(FrameEntry.stratum_id, FrameEntry.cluster_code, func.max(FrameEntry.cluster_probability))
        .where(FrameEntry.wave_id == wave.id, FrameEntry.cluster_probability.is_not(None))
        .group_by(FrameEntry.stratum_id, FrameEntry.cluster_code)).all()
    if not drawn:
        return {}
    sizes = dict(((stratum, cluster), count) for stratum, cluster, count in session.execute(
        select(FrameEntry.stratum_id, FrameEntry.cluster_code, func.count())
        .where(FrameEntry.wave_id == wave.id, FrameEntry.cluster_code.is_not(None))
        .group_by(FrameEntry.stratum_id, FrameEntry.cluster_code)).all())
    return {(stratum, cluster): (float(p), int(sizes.get((stratum, cluster), 0)))
            for stratum, cluster, p in drawn}


def _answers_wide(session: Session, wave: Wave, response_ids: list[int] | None = None) -> pd.DataFrame:
    """Return the wave's answers (of these responses only, if given) pivoted to one column per item,
    indexed by response id."""
    # Plain rows, not ORM objects: a wave has tens of thousands of answers and nothing is edited.
    query = (select(Answer.response_id, Answer.item_id, Answer.value_text, Answer.value_number,
                    Answer.value_date, Answer.value_list)
             .join(Response).where(Response.wave_id == wave.id, Response.status == "complete"))
    if response_ids is not None:
        query = query.where(Answer.response_id.in_(response_ids))
    answers = session.execute(query).all()
    long = pd.DataFrame({"response_id": [a.response_id for a in answers],
                         "item": [a.item_id for a in answers],
                         "value": pd.Series([_value(a) for a in answers], dtype=object)})
    return long.pivot(index="response_id", columns="item", values="value")


def cell_code(stratum_code: str | None, stratum_unit: str | None, unit: str) -> str | None:
    """Return the weighting cell of a response: its stratum, split by assessed unit when needed.

    Officials usually rate units other than their own (commune leaders rate agencies), each person
    several: the cell is then stratum x assessed unit, whose invited count is known.
    """
    if stratum_code is None:
        return None
    return stratum_code if stratum_unit in (None, unit) else f"{stratum_code}/{unit}"


def strata_frame(session: Session, wave: Wave) -> pd.DataFrame:
    """Return the weighting cells of a wave with population and sample sizes (for design weights).

    A cell's sample is the number of invitations that asked for that unit; its population is the
    stratum's population in the same proportion (every person of the stratum is assumed to be
    asked about the unit with the same probability as those sampled).
    """
    own_unit = aliased(Unit)
    rows = session.execute(
        select(Stratum.code, own_unit.code, Unit.code, RespondentGroup.code, Stratum.population_size,
               Stratum.sample_size, func.count())
        .join(Invitation, Invitation.stratum_id == Stratum.id)
        .join(InvitationUnit, InvitationUnit.invitation_id == Invitation.id)
        .join(Unit, Unit.id == InvitationUnit.unit_id)
        .outerjoin(own_unit, own_unit.id == Stratum.unit_id)
        .outerjoin(RespondentGroup, RespondentGroup.id == Stratum.group_id)
        .where(Stratum.wave_id == wave.id, Invitation.source == "frame")
        .group_by(Stratum.code, own_unit.code, Unit.code, RespondentGroup.code,
                  Stratum.population_size, Stratum.sample_size)
        .order_by(Stratum.code, Unit.code)).all()
    cells = []
    for code, own, unit, group, population, sample, asked in rows:
        share = asked / sample if sample else 1.0
        cells.append((cell_code(code, own, unit), unit, group,
                      max(asked, round(population * share)), asked))
    return pd.DataFrame(cells, columns=["stratum", "unit", "group", "population_size", "sample_size"])


@dataclass(frozen=True)
class Documents:
    """The frozen documents a wave's results are computed with, and what had to be guessed."""

    questionnaires: dict[str, dict]
    frameworks: dict[str, dict]
    fallbacks: dict[str, str] = field(default_factory=dict)  # unpinned framework -> what was used

    @property
    def unpinned(self) -> list[str]:
        """Return the codes of the frameworks the wave is not pinned to."""
        return sorted(self.fallbacks)

    @property
    def notes(self) -> list[str]:
        """Return one line per framework the wave is not pinned to, saying what was used instead."""
        return [f"framework {code}: wave not pinned to a version; using {used}"
                for code, used in sorted(self.fallbacks.items())]


def documents(session: Session, wave: Wave, framework_dirs: list[str]) -> Documents:
    """Return the questionnaire versions the wave uses and the framework versions it is pinned to.

    A wave assigned before its framework was stored has no pin: the newest published version is
    used, else the validated file in `framework_dirs`, and `fallbacks` says so.
    """
    questionnaires = {}
    for assignment in wave.groups:
        version = assignment.questionnaire_version
        questionnaires[version.definition["id"]] = version.definition
    wanted = {doc.get("framework") for doc in questionnaires.values()} - {None}
    frozen = framework_service.pinned(session, wave.id)
    found, fallbacks = {}, {}
    for code in sorted(wanted):
        version = frozen.get(code)
        if version is not None:
            found[code] = version.definition
            continue
        version = framework_service.latest(session, code)
        if version is not None:
            found[code], fallbacks[code] = version.definition, f"the newest published, {version.version}"
            continue
        files = _framework_files(framework_dirs)
        if code in files:
            found[code] = load.normalise(files[code].document)
            fallbacks[code] = f"the unpublished file, version {files[code].version}"
    return Documents(questionnaires, found, fallbacks)


def _framework_files(framework_dirs: list[str]) -> dict[str, fw.Framework]:
    """Return the validated frameworks in the folders' frameworks/ subfolders."""
    found = {}
    for folder in framework_dirs:
        if (Path(folder) / "frameworks").is_dir():
            found |= fw.load_frameworks(Path(folder) / "frameworks")
    return found


def write_export(session: Session, wave: Wave, out: Path,
                 framework_dirs: list[str]) -> tuple[list[Path], list[str]]:
    """Write responses.csv, strata.csv and the frozen documents `python -m analysis` reads.

    Each questionnaire and framework version is written as its canonical JSON (`<id>.json`, whose
    SHA-256 is the stored checksum), and `versions.json` lists them with the notes of `documents`,
    which are also returned.
    Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` ...) gets a leading single
    quote (see analysis.outputs.escape_formula); numbers are written as they are.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "responses.csv", out / "strata.csv"]
    escape_formulas(responses_frame(session, wave)).to_csv(written[0], index=False)
    escape_formulas(strata_frame(session, wave)).to_csv(written[1], index=False)
    found = documents(session, wave, framework_dirs)
    manifest = []
    for name, document in list(found.questionnaires.items()) + list(found.frameworks.items()):
        path = out / f"{name}.json"
        path.write_text(load.canonical_json(document), encoding="utf-8")
        written.append(path)
        manifest.append({"file": path.name, "id": name, "version": document.get("version"),
                         "checksum": load.checksum(document)})
    (out / "versions.json").write_text(json.dumps({"wave": wave.code, "documents": manifest,
                                                   "notes": found.notes}, ensure_ascii=False, indent=1),
                                       encoding="utf-8")
    return [*written, out / "versions.json"], found.notes


class NoResponses(ValueError):
    """The wave (or the chosen units) has no complete response to report on."""


def write_wave_report(session: Session, wave: Wave, framework_dirs: list[str], out: Path, *, policy,
                      units: list[str] | None = None, **options) -> tuple[dict, int, Documents]:
    """Write a wave's report into `out`: the one pipeline behind `flask analysis report` and the page's job.

    Reads the complete responses, the strata and the questionnaire and framework documents the wave
    was answered on, and writes every table, chart, data file and the HTML summary
    (`analysis.report.write_report`). Returns (what was written, the number of responses, the
    documents found, whose `notes` and `unpinned` the caller reports). `options` go to write_report
    (replicate weights: `replicates`, `n_replicates`, `seed`). The report starts with the time of
    computation and whether the wave was still open (interim results), also kept in `meta.json` with
    the legend of the page's markers (survey.responses.report_meta). Raises NoResponses before writing
    anything when there is nothing to report on.
    """
    from analysis.report import write_report

    responses = responses_frame(session, wave)
    if responses.empty or (units is not None and not responses["unit"].isin(units).any()):
        raise NoResponses(f"wave {wave.code} has no complete responses yet")
    found = documents(session, wave, framework_dirs)
    now = datetime.now(UTC)
    written = write_report(responses, strata_frame(session, wave), found.questionnaires, found.frameworks,
                           out, policy=policy, wave=wave.code, units=units,
                           preface=[report_meta.preface(wave.status, now)], **options)
    report_meta.write_meta(Path(out), wave, found.frameworks, len(responses), policy.min_responses, now)
    return written, len(responses), found
