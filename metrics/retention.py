"""Order retention (issue 18): orders purchased long enough ago that no recompute of a
retained day can count them are removed, a batch at a time, optionally archived first.

**The rule.** The last ``days`` days, ending yesterday in the portal's time zone, stay
recomputable: ``run_daily --date`` of any of them gives the snapshot it gave before. A
recompute of day D counts the orders whose local purchase date is in the largest window
ending on D (SPEC section 3: ``[D - 29, D]`` for 30 days); whether an order is a Prime order
depends only on the orders of its own local purchase date, and its later events (scans,
deliveries, cancellations, however late they came) never move it out of the window of its
purchase date. So the cut is by local purchase date: every order purchased on or after
``oldest - (max(WINDOWS) - 1) - REDATING_DAYS`` is kept, where ``oldest = today - days`` is
the oldest retained day. ``REDATING_DAYS`` more because a seller's change of time zone
re-dates their stored orders (SPEC section 1), by up to two days (UTC-12 to UTC+14): an order
removed just before the cut must stay out of every retained window after such a change.

Snapshots are kept: they are the record of each day. The pages of a day older than the
retention period still show its stored figures; what they compute from orders (the JSON
status's insights of an old ``?date=``) finds those orders gone.

**The removal** deletes ``batch_size`` orders at a time (by the purchase date index), each
batch in its own short transaction, so the imports and the daily run, which only touch
orders inside the period, never wait long behind it. With an archive, each batch is one
``COPY (DELETE ... RETURNING ...) TO STDOUT``: exactly the orders removed are written, in the
import format (SPEC section 6, ``import_orders`` reads the file back once unzipped), and the
archive is flushed to disk before the batch commits, so it holds every order removed even
if the run is interrupted. One removal at a time (an advisory lock).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from metrics import sql as statements
from metrics.definitions import WINDOWS
from portal.bounds import ORDER_RETENTION_DAYS_MAX, ORDER_RETENTION_DAYS_MIN
from sellers.importing import COLUMNS

# A change of a seller's time zone moves the local date of a stored moment by up to this many
# days (UTC-12 to UTC+14 is 26 hours).
REDATING_DAYS = 2
# Orders removed per transaction: a fraction of a second each, whatever the table's size.
BATCH_SIZE = 5_000
BATCH_SIZE_MAX = 100_000
# gzip's level for the archive: 9 (Python's default) took half as long again as 6 for 5 % less
# (416,602 orders: 17.1 s and 7.9 MB against 11.5 s and 8.4 MB; level 1: 12.8 s, 12.6 MB).
ARCHIVE_COMPRESSION = 6
# The archive's columns: the import format, so the file can be imported again.
ARCHIVE_COLUMNS: tuple[str, ...] = COLUMNS


class RetentionError(ValueError):
    """A removal that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class RetentionPlan:
    """What a removal keeping ``days`` days removes, counted now."""

    days: int
    # The oldest day that stays recomputable, and the first local purchase date kept.
    oldest_day: dt.date
    cut: dt.date
    # The orders purchased before the cut: how many, of how many sellers, the earliest date.
    orders: int
    sellers: int
    earliest: dt.date | None


@dataclass(frozen=True)
class RetentionResult:
    plan: RetentionPlan
    removed: int
    archive: Path | None


def retention_days_check(days: int) -> None:
    """Refuse a retention outside ``ORDER_RETENTION_DAYS_MIN`` to ``..._MAX`` days."""
    if not ORDER_RETENTION_DAYS_MIN <= days <= ORDER_RETENTION_DAYS_MAX:
        raise RetentionError(
            f"{days} days is out of range: keep from {ORDER_RETENTION_DAYS_MIN} to {ORDER_RETENTION_DAYS_MAX} "
            "days of orders."
        )


def retention_cut(*, days: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """The oldest day that stays recomputable and the first local purchase date kept (the
    rule in the module docstring)."""
    retention_days_check(days)
    oldest_day = today - dt.timedelta(days=days)
    return oldest_day, oldest_day - dt.timedelta(days=max(WINDOWS) - 1 + REDATING_DAYS)


def orders_retention_plan(*, days: int, today: dt.date) -> RetentionPlan:
    """What ``orders_retain`` would remove now: the dry run."""
    oldest_day, cut = retention_cut(days=days, today=today)
    with connection.cursor() as cursor:
        cursor.execute(statements.retention_count(), {"cut": cut})
        orders, sellers, earliest = cursor.fetchone()
    return RetentionPlan(days=days, oldest_day=oldest_day, cut=cut, orders=orders, sellers=sellers, earliest=earliest)


def archive_name(*, cut: dt.date, now: dt.datetime) -> str:
    """A new archive's file name: the cut and the moment, e.g.
    ``orders-before-2025-09-14-20261122T123000Z.csv.gz``."""
    return f"orders-before-{cut.isoformat()}-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.csv.gz"


def retention_archive_check(path: Path) -> None:
    """Refuse an archive path that cannot become a new file, before anything is removed."""
    if not path.parent.is_dir():
        raise RetentionError(f"{path.parent} is not a directory: choose an archive path in an existing directory.")
    if path.exists():
        raise RetentionError(f"{path} exists: an archive is never overwritten; choose a new file name.")


def _archive_open(path: Path) -> io.BufferedWriter:
    """A new file at ``path``, never one that exists (one made since the check included)."""
    try:
        return path.open("xb")
    except FileExistsError:
        raise RetentionError(f"{path} exists: an archive is never overwritten; choose a new file name.") from None
    except OSError as exc:
        raise RetentionError(f"{path} cannot be written ({exc.strerror}): choose another archive path.") from None


def _header() -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(ARCHIVE_COLUMNS)
    return text.getvalue().encode()


def orders_retain(
    *,
    days: int,
    today: dt.date,
    archive: Path | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionResult:
    """Remove the orders no recompute of the last ``days`` days can count (module docstring),
    ``batch_size`` a transaction, archiving them first to a new gzip'd CSV at ``archive``
    when given; ``progress(removed, planned)`` after each batch. Nothing to remove: no
    archive is written.

    Not one atomic transaction, on purpose: each batch commits on its own, so nothing waits
    long behind the removal; an interrupted run has removed (and archived) whole batches,
    and the next run removes the rest."""
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise RetentionError(f"A batch of {batch_size} orders is out of range: use 1 to {BATCH_SIZE_MAX}.")
    if archive is not None:
        retention_archive_check(archive)
    plan = orders_retention_plan(days=days, today=today)
    if plan.orders == 0:
        return RetentionResult(plan=plan, removed=0, archive=None)
    with connection.cursor() as cursor:
        cursor.execute(statements.retention_lock_try())
        if not cursor.fetchone()[0]:
            raise RetentionError("Another removal of old orders is running: run this again once it has finished.")
    try:
        if archive is None:
            removed = _remove(plan, batch_size=batch_size, progress=progress)
        else:
            removed = _remove_archived(plan, archive, batch_size=batch_size, progress=progress)
    finally:
        # A connection that failed has lost the lock with its session already.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(statements.retention_unlock())
    return RetentionResult(plan=plan, removed=removed, archive=archive)


def _remove_archived(
    plan: RetentionPlan, archive: Path, *, batch_size: int, progress: Callable[[int, int], None] | None
) -> int:
    """``_remove`` into a new archive; an archive of nothing (the first batch failed) is not kept."""
    removed = 0

    def track(done: int, planned: int) -> None:
        nonlocal removed
        removed = done
        if progress is not None:
            progress(done, planned)

    try:
        with (
            _archive_open(archive) as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=ARCHIVE_COMPRESSION) as zipped,
        ):
            zipped.write(_header())
            return _remove(plan, batch_size=batch_size, progress=track, archive=(zipped, raw))
    except BaseException:
        if removed == 0:
            archive.unlink(missing_ok=True)
        raise


def _remove(
    plan: RetentionPlan,
    *,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
    archive: tuple[gzip.GzipFile, io.BufferedWriter] | None = None,
) -> int:
    params: dict[str, dt.date | int] = {"cut": plan.cut, "batch": batch_size}
    statement = statements.retention_delete(archive_columns=ARCHIVE_COLUMNS if archive else None)
    removed = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if archive is None:
                cursor.execute(statement, params)
            else:
                zipped, raw = archive
                # psycopg's own cursor: Django's debug wrapper passes no parameters to copy().
                with cursor.cursor.copy(statement, params) as copy:
                    for data in copy:
                        zipped.write(data)
                # On disk before the batch commits: the archive holds every order removed.
                zipped.flush()
                os.fsync(raw.fileno())
            count = cursor.rowcount
        removed += count
        if count and progress is not None:
            progress(removed, plan.orders)
        if count < batch_size:
            return removed
