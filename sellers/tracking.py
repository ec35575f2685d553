"""Carrier tracking events (SPEC section 9): a parcel's first scan and its delivery, as the
carrier reports them, applied to the orders with that tracking id and carrier.

Each event is kept once per ``event_id`` (``TrackingEvent``): sent again it changes nothing
and is answered as before; sent again with other values it is refused. An event whose order
is known is applied at once; one whose order has not arrived yet is kept *pending* and
applied when the order arrives, by file or through the API (``sellers.importing``). Either
way the order with its events applied (``with_carrier_events``, the one definition) must
obey every rule of the import (``order_problems``): an event that would break one is
refused with the order's problem, and nothing of its batch is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction

from sellers import sql as statements
from sellers.choices import TrackingEventKind
from sellers.importing import (
    CARRIER_MAX,
    FUTURE_TOLERANCE,
    MAX_LISTED_PROBLEMS,
    TIMESTAMP_EXAMPLE,
    TRACKING_ID_MAX,
    Problem,
    in_the_future,
    order_problems,
    order_values_of,
    seller_ref,
    with_carrier_events,
)
from sellers.models import Order, TrackingEvent, local_date

EVENT_ID_MAX = TrackingEvent._meta.get_field("event_id").max_length or 0
KINDS: tuple[str, ...] = tuple(TrackingEventKind.values)
FIRST_SCAN = TrackingEventKind.FIRST_SCAN.value
DELIVERED = TrackingEventKind.DELIVERED.value

APPLIED = "applied"
PENDING = "pending"


class CarrierEvent(NamedTuple):
    """One carrier event's values, as the feed sends them (its field names are the JSON's).

    ``occurred_at`` is ``None`` when it is missing, and also when it could not be converted
    (the converter reported it)."""

    event_id: str
    carrier: str
    tracking_id: str
    type: str
    occurred_at: dt.datetime | None

    def key(self) -> tuple[str, str]:
        """What an event matches orders by: the tracking id and the carrier in any case."""
        return self.tracking_id, self.carrier.lower()


EVENT_FIELDS: tuple[str, ...] = CarrierEvent._fields


def _stored(event: TrackingEvent) -> CarrierEvent:
    return CarrierEvent(event.event_id, event.carrier, event.tracking_id, event.kind, event.occurred_at)


def event_problems(event: CarrierEvent, *, now: dt.datetime, malformed: Collection[str] = ()) -> list[tuple[str, str]]:
    """The rules an event obeys on its own, as (field, message): the ids and the carrier
    given and bounded, a known type, a moment not after ``now`` (the moment it is received)
    by more than 5 minutes. What it does to its order is judged with the order."""
    problems: list[tuple[str, str]] = []
    for name, value, maximum, example in (
        ("event_id", event.event_id, EVENT_ID_MAX, "the carrier's id of the event, e.g. trk_evt_0001"),
        ("carrier", event.carrier, CARRIER_MAX, "the carrier service as the orders name it, e.g. UPS Ground"),
        ("tracking_id", event.tracking_id, TRACKING_ID_MAX, "the parcel's tracking id, e.g. 1Z999AA10000000001"),
    ):
        if name in malformed:
            continue
        if not value:
            problems.append((name, f"{name} is empty; write {example}."))
        elif len(value) > maximum:
            problems.append((name, f"{name} is {len(value)} characters long; write at most {maximum} characters."))
    if "type" not in malformed and event.type not in KINDS:
        problems.append(("type", f"'{event.type}' is not an event type; write {' or '.join(KINDS)}."))
    if event.occurred_at is None:
        if "occurred_at" not in malformed:
            problems.append(
                (
                    "occurred_at",
                    "occurred_at is empty; write when the event happened, as ISO 8601 with a UTC offset or Z, "
                    f"e.g. {TIMESTAMP_EXAMPLE}.",
                )
            )
    elif event.occurred_at > now + FUTURE_TOLERANCE:
        problems.append(("occurred_at", in_the_future(event.occurred_at, now)))
    return problems


@dataclass
class EventsResult:
    """Each event's outcome by position (``applied`` or ``pending``, and whether it was a
    repeat of one received before), and the counts of the new ones."""

    statuses: list[str] = field(default_factory=list)
    repeated: list[bool] = field(default_factory=list)
    applied: int = 0
    pending: int = 0

    @property
    def repeats(self) -> int:
        return sum(self.repeated)


class EventsRejected(Exception):
    """Some events are invalid; none was stored. ``problems`` by position (an item's index)."""

    def __init__(self, problems: list[Problem], unlisted: int = 0):
        self.problems = problems
        self.unlisted = unlisted
        super().__init__(f"{len(problems) + unlisted} problem(s) with the carrier events")


def tracking_events_record(
    *, events: Sequence[CarrierEvent], found: Mapping[int, list[tuple[str | None, str]]], now: dt.datetime
) -> EventsResult:
    """Record a batch of carrier events (SPEC section 9): all of them, or none and every problem.

    ``found`` holds, by position, the problems the source's converter found already (their
    fields are malformed). Raises ``EventsRejected``. Writes under the import's lock, so an
    order and its events never cross: either the order's import sees the events or the
    events see the order.
    """
    return _tracking_events_record(events, found, now)


@transaction.atomic
def _tracking_events_record(
    events: Sequence[CarrierEvent], found: Mapping[int, list[tuple[str | None, str]]], now: dt.datetime
) -> EventsResult:
    problems: dict[int, list[tuple[str | None, str]]] = defaultdict(list)
    for position, event in enumerate(events):
        given = found.get(position, [])
        problems[position].extend(given)
        if any(name is None for name, _ in given):
            continue  # not an event at all: nothing more to say of it
        malformed = {name for name, _ in given if name is not None}
        problems[position].extend(event_problems(event, now=now, malformed=malformed))
    with connection.cursor() as cursor:
        cursor.execute(statements.merge_lock())

    # Repeats: of an event stored before, or of one earlier in this batch.
    stored = {
        event.event_id: event
        for event in TrackingEvent.objects.filter(event_id__in={e.event_id for e in events if e.event_id})
    }
    first_of: dict[str, int] = {}
    repeat_of: dict[int, int | TrackingEvent] = {}
    new: list[int] = []
    for position, event in enumerate(events):
        if problems[position]:
            continue
        before = stored.get(event.event_id)
        earlier = first_of.get(event.event_id)
        origin: TrackingEvent | int
        if before is not None:
            same, origin = _stored(before), before
        elif earlier is not None:
            same, origin = events[earlier], earlier
        else:
            first_of[event.event_id] = position
            new.append(position)
            continue
        if same != event:
            problems[position].append(
                (
                    "event_id",
                    f"the event {event.event_id} was received already with other values ({_described(same)}); "
                    "an event id names one event: send a new id for a new event.",
                )
            )
        else:
            repeat_of[position] = origin

    # The orders the new events name, with every event of theirs, must still obey the rules.
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position in new:
        by_key[events[position].key()].append(position)
    tracking_ids = {tracking_id for tracking_id, _ in by_key}
    orders: dict[tuple[str, str], list[Order]] = defaultdict(list)
    for order in (
        Order.objects.select_for_update(of=("self",)).select_related("seller").filter(tracking_id__in=tracking_ids)
    ):
        key = (order.tracking_id, order.carrier.lower())
        if key in by_key:
            orders[key].append(order)
    known: dict[tuple[str, str], list[CarrierEvent]] = defaultdict(list)
    for stored_event in TrackingEvent.objects.filter(tracking_id__in={tracking_id for tracking_id, _ in orders}):
        if (key := (stored_event.tracking_id, stored_event.carrier.lower())) in orders:
            known[key].append(_stored(stored_event))
    changed: list[Order] = []
    for key, named in orders.items():
        sent = [events[position] for position in by_key[key]]
        first_scans = [e.occurred_at for e in (*known[key], *sent) if e.type == FIRST_SCAN and e.occurred_at]
        deliveries = [e.occurred_at for e in (*known[key], *sent) if e.type == DELIVERED and e.occurred_at]
        for order in named:
            values = order_values_of(order)
            seller = seller_ref(order.seller)
            with_events = with_carrier_events(values, first_scans=first_scans, deliveries=deliveries)
            broken = order_problems(with_events, seller=seller, now=now)
            for name, message in broken:
                kind = {"first_scan_at": FIRST_SCAN, "delivered_at": DELIVERED}.get(name)
                blamed = [p for p in by_key[key] if events[p].type == kind] or by_key[key]
                for position in blamed:
                    problems[position].append(
                        (
                            "occurred_at",
                            f"applied to order {order.order_id} of {seller.merchant_token}, this event breaks a "
                            f"rule of the orders: {message}",
                        )
                    )
            if not broken and with_events != values:
                order.first_scan_at = with_events.first_scan_at
                order.first_scan_date = local_date(with_events.first_scan_at, seller.zone)
                order.delivered_at = with_events.delivered_at
                order.delivered_date = local_date(with_events.delivered_at, seller.zone)
                order.updated_at = now
                changed.append(order)

    listed = [
        Problem(position, name, message)
        for position in sorted(problems)
        for name, message in sorted(problems[position], key=_field_order)
    ]
    if listed:
        raise EventsRejected(listed[:MAX_LISTED_PROBLEMS], unlisted=max(0, len(listed) - MAX_LISTED_PROBLEMS))

    created = []
    for event in (events[position] for position in new):
        if event.occurred_at is None:  # event_problems refuses it
            raise RuntimeError(f"The event {event.event_id} without a moment passed the rules.")
        created.append(
            TrackingEvent(
                event_id=event.event_id,
                carrier=event.carrier,
                tracking_id=event.tracking_id,
                kind=event.type,
                occurred_at=event.occurred_at,
                received_at=now,
                applied_at=now if event.key() in orders else None,
            )
        )
    TrackingEvent.objects.bulk_create(created)
    Order.objects.bulk_update(
        changed, ["first_scan_at", "first_scan_date", "delivered_at", "delivered_date", "updated_at"]
    )

    result = EventsResult()
    for position, event in enumerate(events):
        repeat = repeat_of.get(position)
        if isinstance(repeat, TrackingEvent):
            status = PENDING if repeat.is_pending else APPLIED
        elif repeat is not None:
            status = result.statuses[repeat]
        else:
            status = APPLIED if event.key() in orders else PENDING
            result.applied += status == APPLIED
            result.pending += status == PENDING
        result.statuses.append(status)
        result.repeated.append(repeat is not None)
    return result


def _field_order(problem: tuple[str | None, str]) -> int:
    name = problem[0]
    return EVENT_FIELDS.index(name) if name in EVENT_FIELDS else -1


def _described(event: CarrierEvent) -> str:
    moment = event.occurred_at.isoformat() if event.occurred_at else "no time"
    return f"{event.type} of {event.carrier} {event.tracking_id} at {moment}"
