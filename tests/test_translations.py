"""Every user-facing string goes through Flask-Babel and has its English translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
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


def messages(catalog) -> dict:
    """Return what a catalog translates: (context, id) to string(s), the compiled ones only.

    Babel writes untranslated and fuzzy messages out of the .mo, so they are left out here too.
    The bytes are not compared: each Babel release writes its own header and layout.
    """
    def plain(value):
        return value if isinstance(value, str) else tuple(value)  # plurals: (singular, plural)

    return {
        (m.context, plain(m.id)): plain(m.string) for m in catalog
        if m.id and "fuzzy" not in m.flags and all([m.string] if isinstance(m.string, str) else m.string)
    }


def test_compiled_catalog_matches_source():
    """The committed .mo holds the messages of the committed .po (else run `make translations`)."""
    with open(CATALOG / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    source = english_catalog()
    assert messages(compiled) == messages(source)
    assert compiled.plural_forms == source.plural_forms


def test_english_pages(client):
    """Choosing English translates the page and sets its lang attribute."""
    page = client.get("/staff/login?lang=en").text
    assert '<html lang="en">' in page and "Staff login" in page
    assert '<html lang="vi">' in client.get("/staff/login?lang=vi").text
