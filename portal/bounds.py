"""The ranges that dates and texts a person gives the portal must fall in, where more than
one form, query parameter or command shares them; each refusal names the field and the fix.

A bound belonging to one field alone (a daily cap, a pause's end, a plan's answers) is
declared beside that field; these are the ones shared across the apps.
"""

from __future__ import annotations

import datetime as dt

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# No date the portal is given is earlier: enrolments, evaluation days and report dates all
# fall in the programme's lifetime. Earlier ones are typing mistakes (0001-01-01, 1926 for
# 2026), and near year 1 a local moment has no UTC equivalent at all.
EARLIEST_DATE = dt.date(2000, 1, 1)

# How many days of orders are kept (ORDER_RETENTION_DAYS, `orders_retain --days`,
# metrics.retention): the last that many days stay recomputable, their windows' orders
# included. At least a whole year, leap day included; by default a year and a month, so the
# same 30-day window a year ago can still be recomputed; at most ten years (more is a typing
# mistake: leave the retention off instead).
ORDER_RETENTION_DAYS_MIN = 366
ORDER_RETENTION_DAYS_DEFAULT = 400
ORDER_RETENTION_DAYS_MAX = 3653

# How much of a value we did not expect is quoted back in a message: enough to recognise it.
EXCERPT_LENGTH = 40


def date_in_range(day: dt.date, *, latest: dt.date) -> bool:
    """Whether ``day`` is from EARLIEST_DATE to ``latest``, both included."""
    return EARLIEST_DATE <= day <= latest


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    """The start of a value to quote back in a message, marked when cut: a 10,000-character
    parameter is named, not repeated."""
    return text if len(text) <= length else text[:length] + "…"


def is_storable_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8, as PostgreSQL stores it: a JSON body may carry
    a lone UTF-16 surrogate (``"\\ud800"``), which Python decodes into a string that no
    database or page can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_error_messages(label) -> dict:
    """A text field's messages for too long a text and for a NUL character (which no
    keyboard types and PostgreSQL cannot store), each naming the field by its label.

    ``%(limit_value)d`` and ``%(show_value)d`` are filled in by Django's length validator."""
    return {
        "max_length": format_lazy(
            _("{field}: at most %(limit_value)d characters, this has %(show_value)d. Shorten it."), field=label
        ),
        "null_characters_not_allowed": format_lazy(
            _("{field}: contains a NUL character, which cannot be stored. Remove it (retype the text)."),
            field=label,
        ),
    }
