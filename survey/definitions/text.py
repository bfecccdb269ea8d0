"""Free text as it may be stored: Unicode NFC, no control characters, no bidirectional overrides.

Every path that stores typed text (respondent pages, data entry, ODK/XLSForm submissions) reads it
through the item types (`survey.definitions.types`), which call `clean`; `problem` is the check that
refuses whatever still carries such characters (text handed to the services directly).

- NUL and the other C0/C1 control characters are removed (PostgreSQL cannot store NUL in text;
  the others are invisible and break exports); tab and line feed stay, CR LF and CR become LF.
- The bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069) are
  removed: they make text display in an order other than the one stored ("Trojan Source",
  CVE-2021-42574). The marks U+200E/U+200F, which only hint direction, stay.
- Text is put in NFC, so that "Hòa" typed with combining marks equals "Hòa" precomposed.
"""

import re
import unicodedata

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_FORBIDDEN = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")


def clean(text: str) -> str:
    """Return text in NFC with line breaks as LF and without control or bidi override characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _FORBIDDEN.sub("", text))


def problem(text: str) -> str | None:
    """Return the first character that stored text may not hold, as U+XXXX, or None."""
    found = _FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
