"""Exporting a wave for the analysis: design codes, weighting cells, one column per item."""

from datetime import date

import pandas as pd

from survey.definitions import load
from survey.responses import export, service
from survey.responses.release import release
from tests.conftest import TEST_SECRET
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    make_group,
    make_invitation,
    make_stratum,
    make_unit,
    make_version,
    make_wave,
)

DEFINITION = load.from_document(SMALL_QUESTIONNAIRE)
WITH_NOTE = {**SMALL_QUESTIONNAIRE, "id": "small_note", "sections": [
    {**SMALL_QUESTIONNAIRE["sections"][0], "items": [
        *SMALL_QUESTIONNAIRE["sections"][0]["items"],
        {"id": "note", "type": "text", "label": {"vi": "Góp ý", "en": "Comments"}}]}]}


def submit(session, invitation, unit_id, version, **answers):
    """Answer one unit of an invitation, submit it and release it (a batch of one)."""
    draft = service.start_draft(session, invitation, unit_id, version.id)
    service.save_answers(session, draft, DEFINITION, answers)
    held = service.submit(session, draft, invitation, today=date(2025, 11, 3))
    release(session, 1)
    return held


def test_export_rows_and_columns(session):
    """Each complete response is a row with design codes and typed item columns; drafts are left out."""
    wave, version = make_wave(session), make_version(session)
    commune = make_unit(session)
    stratum = make_stratum(session, wave, unit_id=commune.id, population_size=900, sample_size=2)
    first, _ = make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version,
                               units=[commune])
    second, _ = make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version,
                                units=[commune], group=first.group)
    submit(session, first, commune.id, version, used="y", age=41.0, wish=["a", "b"], m1_signs="4")
    service.start_draft(session, second, commune.id, version.id)
    session.commit()
    frame = export.responses_frame(session, wave)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["unit"], row["stratum"], row["wave"]) == (commune.code, stratum.code, wave.code)
    assert (row["used"], row["age"], row["wish"], row["m1_signs"]) == ("y", 41.0, "a b", "4")
    assert row["submitted_on"] == "2025-11-03"
    assert not {"invitation", "token", "full_name", "phone", "email"} & set(frame.columns)


def test_cells_split_by_rated_unit_for_officials(session):
    """Officials rating other units get weighting cells of stratum x rated unit with scaled sizes."""
    wave, version = make_wave(session), make_version(session)
    commune, agency_a, agency_b = make_unit(session), make_unit(session), make_unit(session)
    group = make_group(session, kind="official")
    stratum = make_stratum(session, wave, unit_id=commune.id, group_id=group.id,
                           population_size=6, sample_size=3)
    for units in ([agency_a, agency_b], [agency_a], [agency_b]):
        make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version,
                        group=group, units=units)
    session.commit()
    cells = export.strata_frame(session, wave).set_index("stratum")
    a_cell = f"{stratum.code}/{agency_a.code}"
    assert cells.loc[a_cell, "sample_size"] == 2 and cells.loc[a_cell, "population_size"] == 4
    assert export.cell_code(stratum.code, commune.code, commune.code) == stratum.code


def test_export_escapes_formulas_in_text_not_numbers(session, tmp_path):
    """responses.csv writes free text starting with =, +, -, @ with a leading quote; numbers as they are."""
    wave = make_wave(session)
    version = make_version(session, WITH_NOTE)
    definition = load.from_document(WITH_NOTE)
    commune = make_unit(session)
    texts = ["=HYPERLINK(\"http://x.example\")", "+1+1", "-2+3", "@SUM(A1)", "bình thường"]
    for text in texts:
        invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, version=version, units=[commune])
        draft = service.start_draft(session, invitation, commune.id, version.id)
        service.save_answers(session, draft, definition, {"used": "n", "age": 41.0, "note": text})
        service.submit(session, draft, invitation, today=date(2025, 11, 3))
    release(session, 1)
    session.commit()
    export.write_export(session, wave, tmp_path, [])
    written = pd.read_csv(tmp_path / "responses.csv", dtype={"note": str})
    assert sorted(written["note"]) == sorted(["'" + t for t in texts[:4]] + ["bình thường"])
    assert list(written["age"]) == [41.0] * 5
