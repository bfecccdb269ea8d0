"""URL converters: `<int:...>` limited to what the database's integer columns hold.

Werkzeug's `int` converter takes any number of digits, and a number past the database's integer
(PostgreSQL's `integer`, SQLite's 64 bits) made the look-up fail with a 500 (OverflowError on
SQLite, "integer out of range" on PostgreSQL) instead of the 404 of any other unknown id. Every
`<int:...>` of the app is this converter: a larger number matches no route, hence 404.
"""

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's `integer`, the type of every id column


class DatabaseInteger(IntegerConverter):
    """`<int:...>` from 0 to MAX_ID unless a rule says otherwise (`<int(max=...):...>`)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app) -> None:
    """Use the bounded converter for `<int:...>` (before any rule is added)."""
    app.url_map.converters["int"] = DatabaseInteger
