"""URL converters: `<int:...>` limited to what the database's integer columns hold; text parts
without control characters.

Werkzeug's `int` converter takes any number of digits, and a number past the database's integer
(PostgreSQL's `integer`, SQLite's 64 bits) made the look-up fail with a 500 (OverflowError on
SQLite, "integer out of range" on PostgreSQL) instead of the 404 of any other unknown id. Every
`<int:...>` of the app is this converter: a larger number matches no route, hence 404.

Likewise a text part (`<code>`, `<token>`) holding a NUL (`%00`) made PostgreSQL refuse the look-up
("text fields cannot contain NUL") with a 500; no code, token or name of the app holds a control
character, so such a part matches no route either.
"""

from werkzeug.routing import IntegerConverter, UnicodeConverter

MAX_ID = 2**31 - 1  # PostgreSQL's `integer`, the type of every id column


class DatabaseInteger(IntegerConverter):
    """`<int:...>` from 0 to MAX_ID unless a rule says otherwise (`<int(max=...):...>`)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class PlainText(UnicodeConverter):
    """`<name>` and `<string:...>`: one path part without control characters (C0, DEL)."""

    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


def init_app(app) -> None:
    """Use the bounded converters for `<int:...>` and text parts (before any rule is added)."""
    app.url_map.converters["int"] = DatabaseInteger
    app.url_map.converters["default"] = app.url_map.converters["string"] = PlainText
