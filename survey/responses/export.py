"""Export a wave's complete responses in the tidy form the analysis package reads.

One row per response with its design codes (stratum, cluster) and one column per item; nothing
that identifies a respondent is selected, because nothing of the kind is on a response.
"""

from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from analysis.outputs import escape_formulas
from survey.definitions.yamlfile import read_yaml
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.responses.models import Answer, Response
from survey.sampling.models import Invitation, InvitationUnit, RespondentGroup, Stratum, Unit, Wave

DESIGN_COLUMNS = ["response_id", "wave", "questionnaire", "questionnaire_version", "unit",
                  "unit_name", "group", "stratum", "cluster", "mode", "language", "submitted_on",
                  "device_class"]


def _value(answer) -> object:
    """Return an answer as the export writes it: codes as text, lists space-separated (XLSForm)."""
    if answer.value_list is not None:
        return " ".join(answer.value_list)
    if answer.value_date is not None:
        return answer.value_date.isoformat()
    return answer.value_number if answer.value_number is not None else answer.value_text


def responses_frame(session: Session, wave: Wave) -> pd.DataFrame:
    """Return the wave's complete responses, one row each, design columns first."""
    own_unit = aliased(Unit)
    rows = session.execute(
        select(Response, Unit.code, Unit.name, RespondentGroup.code, Stratum.code, own_unit.code,
               Questionnaire.code, QuestionnaireVersion.version)
        .join(Unit, Unit.id == Response.unit_id)
        .join(RespondentGroup, RespondentGroup.id == Response.group_id)
        .outerjoin(Stratum, Stratum.id == Response.stratum_id)
        .outerjoin(own_unit, own_unit.id == Stratum.unit_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Response.questionnaire_version_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(Response.wave_id == wave.id, Response.status == "complete")
        .order_by(Response.id)).all()
    records = []
    for response, unit, unit_name, group, stratum, stratum_unit, code, version in rows:
        record = {"response_id": response.id, "wave": wave.code, "questionnaire": code,
                  "questionnaire_version": version, "unit": unit, "unit_name": unit_name,
                  "group": group, "stratum": cell_code(stratum, stratum_unit, unit),
                  "cluster": response.cluster_code,
                  "mode": response.mode, "language": response.language,
                  "submitted_on": response.submitted_on.isoformat(),
                  "device_class": response.device_class}
        record |= {f"seconds__{k}": v for k, v in (response.page_seconds or {}).items()}
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=None if records else DESIGN_COLUMNS)
    return frame.join(_answers_wide(session, wave), on="response_id") if records else frame


def _answers_wide(session: Session, wave: Wave) -> pd.DataFrame:
    """Return the wave's answers pivoted to one column per item, indexed by response id."""
    # Plain rows, not ORM objects: a wave has tens of thousands of answers and nothing is edited.
    answers = session.execute(
        select(Answer.response_id, Answer.item_id, Answer.value_text, Answer.value_number,
               Answer.value_date, Answer.value_list)
        .join(Response).where(Response.wave_id == wave.id, Response.status == "complete")).all()
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


def documents(session: Session, wave: Wave, framework_dirs: list[str]) -> tuple[dict, dict]:
    """Return the questionnaire documents the wave uses and the framework documents they name."""
    questionnaires = {}
    for assignment in wave.groups:
        version = assignment.questionnaire_version
        questionnaires[version.definition["id"]] = version.definition
    wanted = {doc.get("framework") for doc in questionnaires.values()} - {None}
    frameworks = {}
    for folder in framework_dirs:
        for path in sorted(Path(folder).glob("frameworks/*.yaml")):
            document = read_yaml(path)
            if document.get("id") in wanted:
                frameworks[document["id"]] = document
    return questionnaires, frameworks


def write_export(session: Session, wave: Wave, out: Path, framework_dirs: list[str]) -> list[Path]:
    """Write responses.csv, strata.csv and the YAML documents `python -m analysis` reads.

    Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` ...) gets a leading single
    quote (see analysis.outputs.escape_formula); numbers are written as they are.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "responses.csv", out / "strata.csv"]
    escape_formulas(responses_frame(session, wave)).to_csv(written[0], index=False)
    escape_formulas(strata_frame(session, wave)).to_csv(written[1], index=False)
    questionnaires, frameworks = documents(session, wave, framework_dirs)
    for name, document in list(questionnaires.items()) + list(frameworks.items()):
        path = out / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
