"""Every user-facing string goes through Flask-Babel and has its English translation."""

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "survey" / "translations" / "en" / "LC_MESSAGES"


def source_messages() -> set[str]:
    """Extract the translatable strings from the code and templates, as `make translations` does."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "survey", method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def english_catalog():
    """Read the English catalog."""
    with open(CATALOG / "messages.po", "rb") as handle:
        return read_po(handle, locale="en")


def test_every_message_has_an_english_translation():
    """No string in the code is missing from the catalog or left untranslated."""
    catalog = english_catalog()
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]  # plural messages are (singular, plural)
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
        and "fuzzy" not in m.flags
    }
    assert source_messages() - translated == set()


def test_compiled_catalog_matches_source():
    """The committed .mo is the compilation of the committed .po (run `make translations`)."""
    buffer = io.BytesIO()
    write_mo(buffer, english_catalog())
    assert buffer.getvalue() == (CATALOG / "messages.mo").read_bytes()


def test_english_pages(client):
    """Choosing English translates the page and sets its lang attribute."""
    page = client.get("/staff/login?lang=en").text
    assert '<html lang="en">' in page and "Staff login" in page
    assert '<html lang="vi">' in client.get("/staff/login?lang=vi").text
