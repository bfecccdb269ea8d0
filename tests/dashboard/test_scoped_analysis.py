"""Analysts scoped to some units see only those units, in every page and every downloaded file."""

import copy
import io
import re
from datetime import date

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from survey.auth.models import UserUnit
from survey.definitions import load
from survey.responses import service
from survey.responses.release import release
from tests.conftest import TEST_SECRET
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    log_in,
    log_out,
    make_group,
    make_invitation,
    make_stratum,
    make_unit,
    make_version,
    make_wave,
)

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DOCUMENT = copy.deepcopy(SMALL_QUESTIONNAIRE)
DOCUMENT["sections"][0]["items"].append(
    {"id": "comment", "type": "text", "label": {"vi": "Góp ý", "en": "Comments"}})
DEFINITION = load.from_document(DOCUMENT)
SECRET = {"A": "góp ý riêng của xã An Phú", "B": "góp ý riêng của xã Bình Minh"}


@pytest.fixture
def wave_of_two_units(session):
    """A wave where citizens of two communes rate their commune, four answers each, with comments."""
    wave, version, group = make_wave(session), make_version(session, DOCUMENT), make_group(session)
    units = {"A": make_unit(session, code="XA-AN-PHU", name="Xã An Phú"),
             "B": make_unit(session, code="XA-BINH-MINH", name="Xã Bình Minh")}
    for label, unit in units.items():
        stratum = make_stratum(session, wave, unit_id=unit.id, group_id=group.id, population_size=500,
                               sample_size=6)
        for n in range(4):
            invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, group=group, units=[unit],
                                            stratum=stratum, version=version)
            draft = service.start_draft(session, invitation, unit.id, version.id)
            rating = "5" if label == "A" else ("4" if n % 2 else "2")
            service.save_answers(session, draft, DEFINITION, {
                "used": "y", "age": 30.0 + n, "m1_signs": rating, "comment": f"{SECRET[label]} {n}"})
            service.submit(session, draft, invitation, today=date(2025, 11, 3))
    release(session, 1)  # submissions reach `responses` in released batches
    session.commit()
    return wave, units


def run_report(client, wave) -> dict[str, bytes]:
    """Run the report as the logged-in user, read every section of the page (each unit's detail too)
    and download every file the page lists."""
    page = client.get(f"/staff/analysis/{wave.code}")
    ran = client.post(f"/staff/analysis/{wave.code}/run",
                      data={"csrf_token": CSRF.search(page.text).group(1)})
    assert ran.status_code == 302
    first = client.get(f"/staff/analysis/{wave.code}").text
    pages = [first]
    for section in re.findall(r'\?section=([\w.-]+)"', first):
        pages.append(client.get(f"/staff/analysis/{wave.code}", query_string={"section": section}).text)
        for unit in re.findall(r'<option value="([^"]+)"', pages[-1]):
            pages.append(client.get(f"/staff/analysis/{wave.code}",
                                    query_string={"section": section, "unit": unit}).text)
    assert any("section=files" in p for p in pages) and len(pages) >= 6
    page = "\n".join(pages)
    names = set(re.findall(rf'/staff/analysis/{wave.code}/files/([^"]+)"', page))
    assert {"index.html", "analysis.xlsx", "responses.sav", "responses.dta"} <= set(names)
    files = {}
    for name in names:
        answer = client.get(f"/staff/analysis/{wave.code}/files/{name}")
        assert answer.status_code == 200
        files[name] = answer.data
        answer.close()
    files["page"] = page.encode("utf-8")
    return files


def texts(files: dict[str, bytes], tmp_path) -> dict[str, str]:
    """Every file as searchable text: CSV/HTML as is, XLSX cells, SAV/DTA data and labels."""
    found = {}
    for name, data in files.items():
        if name.endswith((".csv", ".html", ".json")) or name == "page":
            found[name] = data.decode("utf-8-sig")
        elif name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            found[name] = "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True)
                                    for v in row if v is not None)
        elif name.endswith((".sav", ".dta")):
            tmp_path.mkdir(parents=True, exist_ok=True)
            path = tmp_path / name
            path.write_bytes(data)
            reader = pyreadstat.read_sav if name.endswith(".sav") else pyreadstat.read_dta
            frame, _ = reader(str(path))
            found[name] = frame.to_csv(index=False)
    return found


def unit_estimate(csv_text: str, unit_code: str) -> float:
    """The overall SIPAS estimate of a unit in a sipas_*.csv table."""
    table = pd.read_csv(io.StringIO(csv_text))
    return float(table[(table["unit"] == unit_code) & (table["level"] == "item")]["estimate"].iloc[0])


def test_scoped_analyst_sees_only_their_unit_everywhere(app, session, client, wave_of_two_units, tmp_path):
    """Pages, tables, rankings, XLSX, SAV, DTA and HTML of a user scoped to A hold nothing of B."""
    wave, units = wave_of_two_units
    user = log_in(client, session, "analyst", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=units["A"].id))
    session.commit()
    scoped = texts(run_report(client, wave), tmp_path / "scoped")
    assert {"page", "index.html", "analysis.xlsx", "responses.sav", "responses.dta"} <= set(scoped)
    assert any(name.startswith("sipas_") for name in scoped) and any(n.startswith("ranking_") for n in scoped)
    for name, text in scoped.items():
        for leak in (units["B"].code, units["B"].name, SECRET["B"]):
            assert leak not in text, f"{leak!r} in {name}"
    assert SECRET["A"] in scoped["responses.sav"] and SECRET["A"] in scoped["responses.dta"]
    assert units["A"].code in scoped["responses.sav"] and "Xã An Phú" in scoped["page"]
    sipas = next(t for n, t in scoped.items() if n.startswith("sipas_"))
    assert ",ALL," not in sipas  # no pooled figure: it rests on other units' answers

    # The all-units report has both units; A's estimate is the same in both (computed on the whole wave).
    log_out(client)
    log_in(client, session, "coordinator")
    everything = texts(run_report(client, wave), tmp_path / "all")
    assert SECRET["B"] in everything["responses.sav"] and SECRET["A"] in everything["responses.dta"]
    whole = next(t for n, t in everything.items() if n.startswith("sipas_"))
    assert unit_estimate(whole, units["B"].code) < unit_estimate(whole, units["A"].code)
    assert unit_estimate(sipas, units["A"].code) == unit_estimate(whole, units["A"].code)


def test_scope_without_responses_runs_nothing(session, client, wave_of_two_units):
    """A user whose units have no response in the wave gets the 'no responses' message, no files."""
    wave, _ = wave_of_two_units
    elsewhere = make_unit(session, code="XA-KHAC", name="Xã Khác")
    user = log_in(client, session, "analyst", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=elsewhere.id))
    session.commit()
    page = client.get(f"/staff/analysis/{wave.code}")
    done = client.post(f"/staff/analysis/{wave.code}/run",
                       data={"csrf_token": CSRF.search(page.text).group(1)}, follow_redirects=True)
    assert "chưa có phiếu hoàn thành" in done.text and "responses.sav" not in done.text
