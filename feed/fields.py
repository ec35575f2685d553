"""The feed's JSON items and their fields (SPEC section 9), read from the models: one
definition for converting what a client sends and for describing it (``feed.openapi``).

An order's fields are the import's columns (``sellers.importing.COLUMNS``), each typed by its
model field: a moment (``DateTimeField``) is an ISO 8601 string with a UTC offset, a date
(``DateField``) ``YYYY-MM-DD``, ``units`` an integer, ``buy_shipping`` a boolean, the rest
text. ``null`` or absent means "not happened" (or empty), as an empty cell does. The values
are converted to the import's ``OrderValues`` and judged by its rules (``OrderBatch.judge``),
so the file and the API cannot differ; a carrier event's to ``CarrierEvent``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from django.db import models

from portal.bounds import excerpt, is_storable_text
from sellers.choices import SHIP_TO_CODES, CancelledBy
from sellers.importing import (
    COLUMNS,
    DATE_EXAMPLE,
    REQUIRED_COLUMNS,
    TIMESTAMP_EXAMPLE,
    UNITS_MAX,
    OrderBatch,
    OrderValues,
    Problem,
    cell_date,
    cell_moment,
)
from sellers.models import Order, Seller, TrackingEvent
from sellers.tracking import EVENT_FIELDS, KINDS, CarrierEvent

# A moment or a date is never longer than this; a longer string is quoted back cut short.
LONGEST_MOMENT = 40


class Kind(enum.Enum):
    TEXT = "text"
    MOMENT = "moment"
    DATE = "date"
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Field:
    """One field of a feed item: its JSON type, whether it is required, its bounds."""

    name: str
    kind: Kind
    required: bool
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # The model field's verbose name (lazy: read under the language wanted).
    description: object = ""


def _field(model: type[models.Model], name: str, json_name: str, required: bool) -> Field:
    """A feed field from the model field ``name`` that stores it."""
    model_field = model._meta.get_field(name)
    description = getattr(model_field, "verbose_name", json_name)
    if isinstance(model_field, models.DateTimeField):
        return Field(json_name, Kind.MOMENT, required, description=description)
    if isinstance(model_field, models.DateField):
        return Field(json_name, Kind.DATE, required, description=description)
    if isinstance(model_field, models.BooleanField):
        return Field(json_name, Kind.BOOLEAN, required, description=description)
    if isinstance(model_field, models.PositiveIntegerField):
        return Field(json_name, Kind.INTEGER, required, minimum=1, maximum=UNITS_MAX, description=description)
    if isinstance(model_field, models.CharField):
        choices = tuple(str(value) for value, _ in model_field.choices or () if value)
        return Field(json_name, Kind.TEXT, required, model_field.max_length, choices, description=description)
    raise TypeError(f"{model.__name__}.{name} has no feed type.")


def _order_field(name: str) -> Field:
    required = name in REQUIRED_COLUMNS
    if name == "merchant_token":
        return _field(Seller, name, name, required)
    field = _field(Order, name, name, required)
    if name == "ship_to_state":
        return Field(name, Kind.TEXT, required, 2, tuple(sorted(SHIP_TO_CODES)), description=field.description)
    return field


ORDER_FIELDS: dict[str, Field] = {name: _order_field(name) for name in COLUMNS}
# A carrier event's JSON names are CarrierEvent's; ``type`` is stored as ``kind``.
EVENT_FIELDS_BY_NAME: dict[str, Field] = {
    name: _field(TrackingEvent, "kind" if name == "type" else name, name, True) for name in EVENT_FIELDS
}
assert EVENT_FIELDS_BY_NAME["type"].choices == KINDS
assert ORDER_FIELDS["cancelled_by"].choices == tuple(c for c in CancelledBy.values if c)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _text(field: Field, value: Any, problems: list[tuple[str, str]], tz: dt.tzinfo) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append((field.name, f"{field.name} is {_json_type(value)}; write it as a string (or null)."))
        return ""
    if "\x00" in value:
        problems.append((field.name, f"{field.name} contains a NUL character, which can't be stored; remove it."))
        return ""
    if not is_storable_text(value):
        problems.append(
            (
                field.name,
                f"{field.name} contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; remove it.",
            )
        )
        return ""
    return value.strip()


def _moment(field: Field, value: Any, problems: list[tuple[str, str]], tz: dt.tzinfo) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(
            (
                field.name,
                f"{field.name} is {_json_type(value)}; write the moment as a string, ISO 8601 with a UTC offset or Z, "
                f"e.g. {TIMESTAMP_EXAMPLE} (or null if it has not happened).",
            )
        )
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > LONGEST_MOMENT or not text.isascii():
        problems.append(
            (
                field.name,
                f"'{excerpt(text)}' is not a timestamp; write it as ISO 8601 with a UTC offset or Z, "
                f"e.g. {TIMESTAMP_EXAMPLE}.",
            )
        )
        return None
    return cell_moment(text, field.name, tz, problems)


def _date(field: Field, value: Any, problems: list[tuple[str, str]], tz: dt.tzinfo) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(
            (field.name, f"{field.name} is {_json_type(value)}; write the date as a string, e.g. {DATE_EXAMPLE}.")
        )
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > LONGEST_MOMENT:
        problems.append((field.name, f"'{excerpt(text)}' is not a date; write it as YYYY-MM-DD, e.g. {DATE_EXAMPLE}."))
        return None
    return cell_date(text, field.name, problems)


def _integer(field: Field, value: Any, problems: list[tuple[str, str]], tz: dt.tzinfo) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # 2.0
        return int(value)
    shown = "a fraction" if isinstance(value, float) else _json_type(value)
    problems.append(
        (
            field.name,
            f"{field.name} is {shown}; write a whole number from {field.minimum} to {field.maximum:,}, e.g. 2.",
        )
    )
    return None


def _boolean(field: Field, value: Any, problems: list[tuple[str, str]], tz: dt.tzinfo) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    problems.append((field.name, f"{field.name} is {_json_type(value)}; write true or false."))
    return None


CONVERTERS = {
    Kind.TEXT: _text,
    Kind.MOMENT: _moment,
    Kind.DATE: _date,
    Kind.INTEGER: _integer,
    Kind.BOOLEAN: _boolean,
}


# Each field with its kind, in order: what ``_converted`` walks for every item.
ORDER_PLAN = tuple((name, field.kind, field) for name, field in ORDER_FIELDS.items())
EVENT_PLAN = tuple((name, field.kind, field) for name, field in EVENT_FIELDS_BY_NAME.items())


def _converted(
    item: dict, plan: tuple[tuple[str, Kind, Field], ...], problems: list[tuple[str, str]], tz: dt.tzinfo
) -> list:
    """The item's values in the plan's order. The hot path of a 10,000-item batch: the usual
    values (short ASCII text, a moment, a whole number, a boolean) are taken here, anything
    else goes to the field's converter, which also names what is wrong."""
    values: list = []
    append = values.append
    get = item.get
    for name, kind, field in plan:
        value = get(name)
        if value is None:
            append("" if kind is Kind.TEXT else None)
        elif type(value) is str and value.isascii() and "\x00" not in value and len(value) <= LONGEST_MOMENT:
            # ASCII: no surrogates; short: no excerpt needed.
            if kind is Kind.TEXT:
                append(value.strip())
            elif kind is Kind.MOMENT:
                text = value.strip()
                append(cell_moment(text, name, tz, problems) if text else None)
            else:
                append(CONVERTERS[kind](field, value, problems, tz))
        elif (kind is Kind.INTEGER and type(value) is int) or (kind is Kind.BOOLEAN and type(value) is bool):
            append(value)
        else:
            append(CONVERTERS[kind](field, value, problems, tz))
    return values


def _unknown_fields(item: dict, known: dict[str, Field], what: str) -> list[tuple[str, str]]:
    return [
        (
            excerpt(name),
            f"'{excerpt(name)}' is not a field of {what}; the fields are {', '.join(known)}.",
        )
        for name in item
        if name not in known
    ]


def _not_an_object(item: object, what: str, known: dict[str, Field]) -> str:
    return (
        f"this item is {_json_type(item)}, not {what}; send each as a JSON object with the fields {', '.join(known)}."
    )


def order_item_judge(batch: OrderBatch, item: object, position: int) -> None:
    """Convert one JSON item to an order's values and hand it to the import's rules."""
    if not isinstance(item, dict):
        batch.add(Problem(position, None, _not_an_object(item, "an order", ORDER_FIELDS)))
        return
    for name, message in _unknown_fields(item, ORDER_FIELDS, "an order"):
        batch.add(Problem(position, name, message))
    problems: list[tuple[str, str]] = []
    token = item.get("merchant_token")
    seller = batch.seller(token) if isinstance(token, str) else None
    # The seller's zone shapes the examples of messages, as in the file's.
    tz = seller.zone if seller is not None else dt.UTC
    values = _converted(item, ORDER_PLAN, problems, tz)
    order = OrderValues._make(values)
    # Codes in any case, as the file's cells.
    if order.ship_to_state and order.ship_to_state not in SHIP_TO_CODES:
        order = order._replace(ship_to_state=order.ship_to_state.upper())
    if order.cancelled_by:
        order = order._replace(cancelled_by=order.cancelled_by.lower())
    batch.judge(order, batch.seller(order.merchant_token), problems, position)


def event_item(item: object) -> tuple[CarrierEvent, list[tuple[str | None, str]]]:
    """One JSON item's carrier event and the problems of its conversion."""
    if not isinstance(item, dict):
        return CarrierEvent("", "", "", "", None), [
            (None, _not_an_object(item, "a carrier event", EVENT_FIELDS_BY_NAME))
        ]
    problems: list[tuple[str, str]] = _unknown_fields(item, EVENT_FIELDS_BY_NAME, "a carrier event")
    values = _converted(item, EVENT_PLAN, problems, dt.UTC)
    event = CarrierEvent._make(values)
    return event._replace(type=event.type.lower()), list(problems)
