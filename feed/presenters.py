"""What the feed answers (SPEC section 9): the JSON of an accepted or a refused batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from feed.services import EventsReceived, OrdersReceived, Rejected
from portal.bounds import excerpt

# An id quoted back in an answer is cut to this length (it is refused beyond 100 anyway).
ID_EXCERPT = 100


def _item_text(item: object, name: str) -> str | None:
    value = item.get(name) if isinstance(item, dict) else None
    return excerpt(value, ID_EXCERPT) if isinstance(value, str) else None


def rejected_payload(rejected: Rejected, items: Sequence[object], *, batch: int, id_field: str) -> dict:
    """422: every listed problem by item (its index and id), each with its field and message."""
    by_item: dict[int, list[dict]] = defaultdict(list)
    for problem in rejected.problems:
        by_item[problem.line].append({"field": problem.column, "message": problem.message})
    invalid = rejected.invalid
    return {
        "error": (
            f"{invalid} of {len(items)} items {'is' if invalid == 1 else 'are'} invalid"
            f"{' (and more problems are not listed)' if rejected.unlisted else ''}, so nothing was stored; "
            "fix them and send the whole batch again."
        ),
        "batch": batch,
        "invalid": invalid,
        "unlisted": rejected.unlisted,
        "items": [
            {"index": index, id_field: _item_text(items[index], id_field), "errors": errors}
            for index, errors in sorted(by_item.items())
        ],
    }


def orders_payload(received: OrdersReceived, items: Sequence[object]) -> tuple[int, dict]:
    """200 with each order's outcome (created, updated, unchanged), or 422."""
    if received.rejected is not None:
        return 422, rejected_payload(received.rejected, items, batch=received.batch.pk, id_field="order_id")
    result = received.result
    if result is None:
        raise ValueError("An accepted batch of orders has a result.")
    return 200, {
        "batch": received.batch.pk,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "items": [
            {
                "index": index,
                "order_id": _item_text(item, "order_id"),
                "merchant_token": _item_text(item, "merchant_token"),
                "status": result.statuses[index],
            }
            for index, item in enumerate(items)
        ],
    }


def events_payload(received: EventsReceived, items: Sequence[object]) -> tuple[int, dict]:
    """200 with each event's state (applied to its order, or pending until the order
    arrives; ``repeated`` when it was received before), or 422."""
    if received.rejected is not None:
        return 422, rejected_payload(received.rejected, items, batch=received.batch.pk, id_field="event_id")
    result = received.result
    if result is None:
        raise ValueError("An accepted batch of events has a result.")
    return 200, {
        "batch": received.batch.pk,
        "applied": result.applied,
        "pending": result.pending,
        "repeated": result.repeats,
        "items": [
            {
                "index": index,
                "event_id": _item_text(item, "event_id"),
                "status": result.statuses[index],
                "repeated": result.repeated[index],
            }
            for index, item in enumerate(items)
        ],
    }
