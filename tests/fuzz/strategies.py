"""Hypothesis strategies for what a browser, a broken phone or an attacker may post to a form page.

A posted body is built from (name, value) pairs, so names repeat freely; values mix the item's valid
answers with the kinds of text that break parsers: NUL and other control characters, bidi overrides,
Vietnamese in NFD (combining marks), very long strings, numbers in odd notations. Some bodies are raw
bytes (invalid UTF-8, truncated percent escapes, other charsets), JSON, or multipart with a file part.
"""

import string
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from survey.definitions import engine

VIETNAMESE = ["Hồ Chí Minh", "Hòa Bình", "Đắk Lắk", "Thừa Thiên Huế", "Cán bộ tận tình, nhanh chóng"]
NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\x00" * 10, "\r\n", "\t", "\x1b[31m", "\x7f\x85\x9f", "\u202e\u2066abc",
    "\ufeff", "\ud7ff", "\uffff", "🙂", "𝔘𝔫𝔦", "<script>alert(1)</script>", "' OR 1=1 --", "${used}",
    "%00", "%ff", "NaN", "inf", "-inf", "1e308", "1e309", "-0", "0x10", "１２", "٣", "1,5", "1.5", "1_000",
    "9" * 400, "2026-02-30", "0000-01-01", "31/12/2099", "29/02/2023", "2026-13-01", "+002026-01-01",
    *[unicodedata.normalize("NFD", v) for v in VIETNAMESE], *VIETNAMESE,
]
ACTIONS = ["next", "back", "submit", "", "Gửi phiếu", "SUBMIT", "next\x00", "delete"]


def item_values(item) -> st.SearchStrategy[str]:
    """Values for one item: mostly its valid answers, often the nasty ones, sometimes any text."""
    valid = []
    if item.options:
        valid = [o.code for o in item.options]
    elif item.type in ("integer", "decimal"):
        low = int(float(item.min)) if item.min is not None else -5
        high = int(float(item.max)) if item.max is not None else 500
        middle = f"{(low + high) / 2:.2f}".replace(".", ",")
        valid = [str(low), str(high), str(low - 1), str(high + 1), middle]
    elif item.type == "date":
        valid = [str(item.min or "2020-01-01"), str(item.max or "2030-12-31"), "2025-11-30", "30/11/2025",
                 "2019-12-31", "2031-01-01"]
    elif item.type in ("text", "long_text"):
        limit = item.max_length or 255
        valid = ["Quầy số 3", "x" * limit, "x" * (limit + 1), "ệ" * limit]
    others = st.sampled_from(NASTY_TEXT)
    any_text = st.text(st.characters(codec="utf-8"), max_size=30)
    long_text = st.builds(lambda c, n: c * n, st.sampled_from(["x", "ệ", "\x00", "e\u0302\u0323"]),
                          st.sampled_from([255, 256, 5000, 5001, 20000]))
    choices = [st.sampled_from(valid)] if valid else []
    return st.one_of(*choices, others, any_text, long_text)


def field_names(items) -> st.SearchStrategy[str]:
    """Names of posted fields: the page's items, other pages' items, and names nobody expects."""
    known = [i.id for i in items]
    return st.one_of(
        st.sampled_from(known), st.sampled_from(known),
        st.sampled_from(["action", "csrf_token", "lang", "text"]),
        st.text(st.characters(codec="utf-8"), min_size=0, max_size=20),
        st.sampled_from(["used[]", "wish[0]", "__proto__", "a" * 300, "m1_signs\x00", "USED", "ú"]),
    )


@dataclass
class Body:
    """One posted body: form pairs (sent as urlencoded or multipart), or raw bytes with a content type."""

    pairs: list = field(default_factory=list)
    raw: bytes | None = None
    content_type: str | None = None
    multipart: bool = False
    csrf: str = "valid"  # valid, absent, wrong, twice (a wrong token first, then the valid one)
    action: str | None = None

    def request_kwargs(self, token: str) -> dict:
        """Return the test client's arguments for this body, with the CSRF token as chosen."""
        pairs = list(self.pairs)
        if self.action is not None:
            pairs.append(("action", self.action))
        if self.csrf == "valid":
            pairs.insert(0, ("csrf_token", token))
        elif self.csrf == "wrong":
            pairs.insert(0, ("csrf_token", "IjAwMCI.not-a-token"))
        elif self.csrf == "twice":
            pairs[:0] = [("csrf_token", "wrong"), ("csrf_token", token)]
        if self.raw is not None:
            prefix = b"" if self.csrf == "absent" else b"csrf_token=" + token.encode() + b"&"
            return {"data": prefix + self.raw, "content_type": self.content_type}
        if self.multipart:
            import io

            data = MultiDict()
            for name, value in pairs:
                data.add(name, (io.BytesIO(value.encode("utf-8", "surrogatepass")), "a.txt")
                         if name.startswith("file:") else value)
            return {"data": data, "content_type": "multipart/form-data"}
        return {"data": MultiDict(pairs), "content_type": self.content_type}


RAW_BODIES = [
    b"used=%FF%FE&age=%C3%28", b"used=y&age=4%", b"used=%E1%BB", b"%%%%", b"=&=&&==", b"used",
    b"used=y&used=n&used=y", b"used=" + "Hòa".encode("utf-16"),
    b"used=" + unicodedata.normalize("NFD", "Hòa").encode("cp1258"),
    b"\x00\x01\x02", b"used=y\x00&age=30", b"age=" + b"9" * 5000, b"{\"used\": \"y\"}",
    b"used=y;age=30", b"used=" + quote_from_bytes("Hồ".encode()).encode() + b"&action=submit",
]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
                 "application/x-www-form-urlencoded; charset=utf-16", "text/plain", "application/json",
                 "multipart/form-data", "multipart/form-data; boundary=x", "application/octet-stream", None]


@st.composite
def valid_page(draw, items) -> list:
    """A whole page answered as a person would (so that examples reach submission often)."""
    pairs = []
    for item in items:
        if item.options:
            codes = [o.code for o in item.options if o.code != "z"]
            most = 2 if item.type == "multiple_choice" else 1
            chosen = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=most, unique=True))
            pairs.extend((item.id, c) for c in chosen)
        elif item.type in ("integer", "decimal"):
            low, high = int(float(item.min or 0)), int(float(item.max or 99))
            pairs.append((item.id, str(draw(st.integers(low, high)))))
        elif item.type == "date":
            pairs.append((item.id, "2025-06-15"))
        else:
            nfd = unicodedata.normalize("NFD", VIETNAMESE[0])
            pairs.append((item.id, draw(st.sampled_from([*VIETNAMESE, nfd]))))
    return pairs


def walk(definition) -> st.SearchStrategy[list]:
    """Valid bodies for every page in order, the last one submitting: a respondent who finishes."""
    return st.tuples(*(valid_page(engine.page_items(s)) for s in definition.sections)).map(
        lambda pages: [Body(pairs=p, action="next") for p in pages[:-1]]
        + [Body(pairs=pages[-1], action="submit")])


def bodies(definition, page_index: int | None = None) -> st.SearchStrategy[Body]:
    """Posted bodies for a questionnaire page (any page's items when `page_index` is None)."""
    if page_index is None:
        items = definition.answerable_items()
    else:
        items = engine.page_items(definition.sections[page_index])
    by_id = {i.id: i for i in definition.answerable_items()}
    names = field_names(items)

    @st.composite
    def pair(draw):
        name = draw(names)
        item = by_id.get(name)
        other = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=10))
        value = draw(item_values(item) if item else other)
        return name, value

    form = st.builds(
        Body, pairs=st.one_of(valid_page(items), st.lists(pair(), max_size=12),
                              st.builds(lambda a, b: a + b, valid_page(items), st.lists(pair(), max_size=4))),
        multipart=st.booleans(),
        content_type=st.sampled_from([None, None, "application/x-www-form-urlencoded"]),
        csrf=st.sampled_from(["valid", "valid", "valid", "absent", "wrong", "twice"]),
        action=st.one_of(st.none(), st.sampled_from(ACTIONS)))
    raw = st.builds(
        Body, raw=st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=200)),
        content_type=st.sampled_from(CONTENT_TYPES), csrf=st.sampled_from(["valid", "absent"]))
    files = st.builds(Body, pairs=st.lists(st.tuples(st.sampled_from(["file:" + i.id for i in items]),
                                                     st.sampled_from(NASTY_TEXT)), min_size=1, max_size=3),
                      multipart=st.just(True))
    return st.one_of(form, form, form, raw, files)


PRINTABLE = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=70)
