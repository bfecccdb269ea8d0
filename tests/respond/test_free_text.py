"""Free text is stored in NFC without NUL, control characters or bidi overrides, on every path."""

import re

import pytest
from sqlalchemy import select

from survey.definitions import load
from survey.definitions.types import AnswerError
from survey.instruments.xlsform_submissions import import_csv
from survey.responses import service
from survey.responses.models import Answer, Response
from survey.sampling.models import WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    log_in,
    make_group,
    make_invitation,
    make_unit,
    make_version,
    make_wave,
)

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
WITH_NOTE = {**SMALL_QUESTIONNAIRE, "id": "small_note", "sections": [
    {**SMALL_QUESTIONNAIRE["sections"][0], "items": [
        *SMALL_QUESTIONNAIRE["sections"][0]["items"],
        {"id": "note", "type": "long_text", "label": {"vi": "Góp ý", "en": "Comments"}}]}]}
# NFD "Hòa" (o + combining grave), a NUL, a right-to-left override and isolate, a vertical tab, CR LF.
SENT = "Ho\u0300a\x00 b\u202eình\u2066 thường\x0b.\r\nDòng hai\x7f"
STORED = "Hòa bình thường.\nDòng hai"


def stored_notes(session) -> list[str]:
    """Return the stored text answers to `note` of complete responses."""
    return list(session.scalars(select(Answer.value_text).join(Response)
                                .where(Answer.item_id == "note", Response.status == "complete")))


def test_respondent_page_stores_clean_nfc_text(client, session):
    """A respondent's NUL byte, NFD letters and bidi overrides never reach the database (no 500)."""
    invitation, token = make_invitation(session, TEST_SECRET, version=make_version(session, WITH_NOTE))
    session.commit()
    unit_id = invitation.units[0].unit_id
    csrf = CSRF.search(client.get(f"/r/{token}").text).group(1)
    first = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf}).headers["Location"]
    done = client.post(first, data={"csrf_token": csrf, "used": "n", "age": "30", "note": SENT,
                                    "action": "submit"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/done")
    assert stored_notes(session) == [STORED]


def test_data_entry_stores_clean_nfc_text(client, session):
    """A clerk's typed text goes through the same cleaning."""
    invitation, _ = make_invitation(session, TEST_SECRET, version=make_version(session, WITH_NOTE))
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.commit()
    log_in(client, session, "data_entry")
    start_url = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    csrf = CSRF.search(client.get(start_url).text).group(1)
    page = client.post(start_url, data={"csrf_token": csrf, "unit_code": invitation.units[0].unit.code,
                                        "form_number": "1", "mode": "paper"}).headers["Location"]
    done = client.post(page, data={"csrf_token": csrf, "used": "n", "age": "52", "note": SENT,
                                   "action": "submit"})
    assert done.status_code == 302
    assert stored_notes(session) == [STORED]


def test_odk_import_stores_clean_nfc_text(session):
    """ODK/Kobo CSV submissions are read by the same item types."""
    wave, group = make_wave(session, code="WN"), make_group(session, code="gn")
    version = make_version(session, WITH_NOTE)
    session.add(WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=version.id))
    make_unit(session, code="UN")
    session.commit()
    csv_text = 'used,age,note\nn,40,"' + SENT.replace("\r\n", "\n") + '"\n'
    report = import_csv(session, csv_text, "WN", "gn", unit_code="UN")
    session.commit()
    assert report.errors == [] and report.added == 1
    assert stored_notes(session) == [STORED.replace("\r\n", "\n")]


@pytest.mark.parametrize("bad", ["a\x00b", "a\u202eb", "Ho\u0300a"])
def test_service_refuses_text_that_was_not_cleaned(session, bad):
    """Text handed to the service directly is checked too: a NUL, an override or NFD is refused."""
    invitation, _ = make_invitation(session, TEST_SECRET, version=make_version(session, WITH_NOTE))
    draft = service.start_draft(session, invitation, invitation.units[0].unit_id,
                                invitation.units[0].invitation.wave.groups[0].questionnaire_version_id)
    with pytest.raises(AnswerError) as caught:
        service.save_answers(session, draft, load.from_document(WITH_NOTE), {"note": bad})
    assert caught.value.code == "control_character"


def test_questionnaire_text_with_control_characters_is_refused():
    """Questionnaire files (YAML or converted XLSForm) cannot carry NUL or bidi overrides in labels."""
    document = {**WITH_NOTE, "title": {"vi": "Phiếu\u202e nhỏ", "en": "Small"}}
    with pytest.raises(load.DefinitionError) as caught:
        load.from_document(document, "q.yaml")
    assert any("holds control character U+202E" in line for line in caught.value.errors)
