"""Normal forms of a person's phone number and e-mail address (what the frame stores and compares)."""

import re

import phonenumbers

# A pragmatic address check: one @, a local part without spaces, a domain of dot-separated labels
# ending in letters. Whether the mailbox exists only sending can tell.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"[A-Za-z]{2,63}")
MAX_EMAIL = 254
_SEPARATORS = re.compile(r"[\s.()-]")


def normalise_phone(raw: str) -> str | None:
    """Return a Vietnamese phone number in E.164 (+84...), or None when it is not one.

    Numbers written the usual ways (0912 345 678, +84 912.345.678) are checked directly against
    phonenumbers' Vietnamese metadata, which is several times faster than a full parse (a frame has
    100,000 of them); anything else goes through phonenumbers.parse.
    """
    text = raw.strip()
    if not text:
        return None
    compact = _SEPARATORS.sub("", text)
    national = compact[3:] if compact.startswith("+84") else compact[1:] if compact.startswith("0") else None
    if national is not None and national.isdigit() and national[:1] not in ("", "0") and len(national) <= 12:
        number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
        return f"+84{national}" if phonenumbers.is_valid_number_for_region(number, "VN") else None
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number_for_region(number, "VN"):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    """Return an e-mail address with its domain in lower case, or None when its syntax is wrong."""
    text = raw.strip()
    if len(text) > MAX_EMAIL or not _EMAIL.fullmatch(text) or ".." in text or text.startswith("."):
        return None
    local, domain = text.rsplit("@", 1)
    if local.endswith("."):
        return None
    return f"{local}@{domain.lower()}"


def email_key(email: str) -> str:
    """Return what makes two addresses the same person's: the whole address in lower case."""
    return email.lower()
