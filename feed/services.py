"""The data feed's writes (SPEC section 9): integration tokens, and each batch received,
written through the import's one path and logged."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import Error as DatabaseFailure
from django.db import transaction
from django.utils import timezone

from feed.auth import INTEGRATION_TOKEN_PREFIX
from feed.fields import event_item, order_item_judge
from feed.models import FeedBatch, IntegrationToken
from sellers.auth import api_token_generate
from sellers.importing import (
    FailureKind,
    ImportFailed,
    ImportRejected,
    ImportResult,
    OrderBatch,
    Problem,
    database_failure_kind,
    orders_write,
)
from sellers.models import User
from sellers.tracking import CarrierEvent, EventsRejected, EventsResult, tracking_events_record

logger = logging.getLogger(__name__)


@transaction.atomic
def integration_token_create(*, name: str, created_by: User | None = None) -> tuple[IntegrationToken, str]:
    """A new integration token named ``name``: the record and the token itself, which is
    stored only as its hash and so must be shown now or never."""
    raw, prefix, key_hash = api_token_generate(INTEGRATION_TOKEN_PREFIX)
    token = IntegrationToken.objects.create(name=name, prefix=prefix, key_hash=key_hash, created_by=created_by)
    return token, raw


@transaction.atomic
def integration_token_revoke(*, token: IntegrationToken, now: dt.datetime | None = None) -> bool:
    """Revoke ``token`` from ``now`` on; False when it was revoked already."""
    now = now or timezone.now()
    return bool(IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now))


def feed_batch_log(
    *, token: IntegrationToken, kind: str, status_code: int, received_at: dt.datetime, **counts: int | str
) -> FeedBatch:
    """The log entry of one request (token, moment, counts), for staff (admin) and the log."""
    duration = timezone.now() - received_at
    batch = FeedBatch.objects.create(
        token=token,
        kind=kind,
        status_code=status_code,
        received_at=received_at,
        duration_ms=max(0, int(duration.total_seconds() * 1000)),
        **counts,
    )
    logger.info(
        "feed batch %s: %s by token %s (%s), status %s, %s",
        batch.pk,
        kind,
        token.prefix,
        token.name,
        status_code,
        ", ".join(f"{key} {value}" for key, value in counts.items() if value and key != "error") or "no items",
    )
    return batch


class FeedFailed(Exception):
    """The database failed while a batch was received: its transaction was rolled back, so
    nothing of the batch was stored. Its text is one sentence for the client (HTTP 503)."""


def feed_database_failure(exc: DatabaseFailure) -> str:
    """What went wrong, for the feed's client, in one sentence with what to do: a batch is
    idempotent, so sending it again is always safe."""
    kind, reason = database_failure_kind(exc)
    if kind is FailureKind.CONCURRENT:
        return (
            f"Another batch or import changed the same orders at the same time ({reason}), so nothing of this batch "
            "was stored; send it again."
        )
    if kind is FailureKind.CONNECTION:
        return (
            f"The connection to the database failed ({reason}), so nothing of this batch was stored; send it again "
            "in a minute."
        )
    return (
        f"The database failed ({reason}), so nothing of this batch was stored; send it again, and if this happens "
        "again, report this message."
    )


def _failed(*, token: IntegrationToken, kind: str, items: int, now: dt.datetime, exc: Exception) -> FeedFailed:
    """``FeedFailed`` for a database failure (``ImportFailed`` carries it as its cause),
    logged first if the database takes even that."""
    cause = exc.__cause__ if isinstance(exc, ImportFailed) and exc.__cause__ is not None else exc
    message = feed_database_failure(cause) if isinstance(cause, DatabaseFailure) else str(exc)
    try:
        feed_batch_log(token=token, kind=kind, status_code=503, received_at=now, items=items, error=message)
    except DatabaseFailure:
        logger.exception("feed batch of token %s: the database failed and the batch could not be logged", token.prefix)
    return FeedFailed(message)


@dataclass
class Rejected:
    """A batch with problems: nothing of it was stored."""

    problems: list[Problem]
    unlisted: int

    @property
    def invalid(self) -> int:
        """How many items have a listed problem."""
        return len({problem.line for problem in self.problems})


@dataclass
class OrdersReceived:
    batch: FeedBatch
    result: ImportResult | None = None
    rejected: Rejected | None = None


@dataclass
class EventsReceived:
    batch: FeedBatch
    result: EventsResult | None = None
    rejected: Rejected | None = None


R = TypeVar("R", ImportResult, EventsResult)


def _received(
    *,
    token: IntegrationToken,
    kind: str,
    items: int,
    now: dt.datetime,
    write: Callable[[], R],
    counts: Callable[[R], dict[str, int]],
) -> tuple[FeedBatch, R | None, Rejected | None]:
    """Write a batch (``write``) and its log entry in one transaction, or log why nothing was
    written: (the log entry, the result, the problems). ``FeedFailed`` when the database
    fails, whether writing the batch or the log: nothing of the batch is stored."""
    try:
        with transaction.atomic():
            result = write()
            logged = feed_batch_log(
                token=token, kind=kind, status_code=200, received_at=now, items=items, **counts(result)
            )
        return logged, result, None
    except (ImportRejected, EventsRejected) as exc:
        rejected = Rejected(exc.problems, exc.unlisted)
        try:
            logged = feed_batch_log(
                token=token, kind=kind, status_code=422, received_at=now, items=items, invalid=rejected.invalid
            )
        except DatabaseFailure as failure:
            raise _failed(token=token, kind=kind, items=items, now=now, exc=failure) from failure
        return logged, None, rejected
    except (ImportFailed, DatabaseFailure) as exc:
        raise _failed(token=token, kind=kind, items=items, now=now, exc=exc) from exc


def feed_orders_receive(*, token: IntegrationToken, items: Sequence[object], now: dt.datetime) -> OrdersReceived:
    """Validate and upsert a batch of orders (SPEC section 9) through the import's path
    (``orders_write``): all of it with the outcome of each item, or nothing and every
    problem by item. The batch is logged either way, in the transaction of the orders it
    wrote when it did.

    Raises ``FeedFailed`` (logged first, if the database allows) when the database fails,
    whether writing the orders or the log: nothing of the batch is stored."""

    def read(batch: OrderBatch) -> None:
        for position, item in enumerate(items):
            order_item_judge(batch, item, position)

    logged, result, rejected = _received(
        token=token,
        kind=FeedBatch.Kind.ORDERS,
        items=len(items),
        now=now,
        write=lambda: orders_write(read=read, now=now, item_statuses=True),
        counts=lambda result: {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
    )
    return OrdersReceived(logged, result=result, rejected=rejected)


def feed_events_receive(*, token: IntegrationToken, items: Sequence[object], now: dt.datetime) -> EventsReceived:
    """Record a batch of carrier events (SPEC section 9, ``tracking_events_record``): all of
    them, or none and every problem by item; logged either way. Raises ``FeedFailed`` as
    ``feed_orders_receive`` does."""
    events: list[CarrierEvent] = []
    found: dict[int, list[tuple[str | None, str]]] = {}
    for position, item in enumerate(items):
        event, problems = event_item(item)
        events.append(event)
        if problems:
            found[position] = problems
    logged, result, rejected = _received(
        token=token,
        kind=FeedBatch.Kind.TRACKING_EVENTS,
        items=len(items),
        now=now,
        write=lambda: tracking_events_record(events=events, found=found, now=now),
        counts=lambda result: {"applied": result.applied, "pending": result.pending, "repeated": result.repeats},
    )
    return EventsReceived(logged, result=result, rejected=rejected)
