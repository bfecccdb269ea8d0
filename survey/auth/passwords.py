"""The password policy for staff accounts (OWASP ASVS 4.0 V2.1, NIST SP 800-63B 5.1.1.2).

A password must have at least 12 characters (any characters: spaces and Vietnamese letters count),
must not be one of the 20,000 most common passwords (nor one with digits or symbols added at either
end), must not be one character repeated, one
short pattern repeated or a run such as ``123456789012`` or ``abcdefghijkl``, and must not
contain the account's e-mail name or the person's name. There is no rule on character classes and
no expiry (both push people to weaker, predictable passwords).

``common-passwords.txt.gz`` is the list Django ships (django/contrib/auth, BSD licence): 20,000
passwords, lowercased and deduplicated, by Royce Williams
(gist roycewilliams/226886fd01572964e1431ac8afc999ce), from public breach corpora.
"""

import gzip
import string
import unicodedata
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 512  # the login form accepts no more
COMMON_LIST = Path(__file__).resolve().parent / "common-passwords.txt.gz"


class WeakPassword(ValueError):
    """Raised when a password breaks the policy; ``problems`` says how (translatable texts)."""

    def __init__(self, problems: list):
        super().__init__(f"{len(problems)} problem(s) with the password")
        self.problems = problems


@cache
def common_passwords() -> frozenset[str]:
    """Return the list of common passwords (lowercase)."""
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def _plain(text: str) -> str:
    """Lowercase letters and digits only, Vietnamese diacritics removed (đ → d)."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def _is_run(text: str) -> bool:
    """Tell whether the text is a run of consecutive characters (abcd…, 4321…), cycling 9→0."""
    steps = {(ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
             for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1, 9}


def _repeats_pattern(text: str) -> bool:
    """Tell whether the text is a pattern of at most a third of its length, repeated."""
    return any(text == (text[:period] * len(text))[:len(text)] for period in range(1, len(text) // 3 + 1))


def problems(password: str, email: str = "", name: str = "") -> list:
    """Return what is wrong with a password for this account (an empty list when it is fine)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(_l("Mật khẩu phải có ít nhất %(n)s ký tự.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        found.append(_l("Mật khẩu không được dài quá %(n)s ký tự.", n=MAX_LENGTH))
    lowered = password.strip().lower()
    plain = _plain(password)
    # "iloveyou1234" is "iloveyou" with digits added: strip digits and symbols at both ends too.
    core = lowered.strip(string.digits + string.punctuation + string.whitespace)
    if lowered in common_passwords() or plain in common_passwords() or \
            (len(core) >= 4 and core in common_passwords()):
        found.append(_l("Mật khẩu này nằm trong danh sách mật khẩu phổ biến."))
    if len(set(lowered)) < 4 or _repeats_pattern(lowered) or _is_run(lowered) or _is_run(plain):
        found.append(_l("Mật khẩu không được là một ký tự, một dãy liên tiếp hoặc một mẫu lặp lại."))
    personal = [_plain(email.partition("@")[0]), _plain(name)] + [
        _plain(part) for part in name.split() if len(_plain(part)) >= 4]
    if any(len(word) >= 3 and word in plain for word in personal):
        found.append(_l("Mật khẩu không được chứa tên hoặc địa chỉ thư điện tử của tài khoản."))
    return found


def check(password: str, email: str = "", name: str = "") -> None:
    """Raise WeakPassword when the password breaks the policy."""
    found = problems(password, email, name)
    if found:
        raise WeakPassword(found)
