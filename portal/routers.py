"""Reads from a PostgreSQL streaming replica (DATABASE_REPLICA_URL) for the pages that opt in,
everything else on the primary (docs/performance.md, "A read replica").

- **Where reads go.** A view opts in with ``replica_reads`` (or calls ``replica_serve``): the
  dashboard, the defect and population pages, their CSV downloads and /api/performance/.
  Their reads go to the replica, their writes (a session, a token's last use) to the
  primary. Nothing else opts in: the settings pages, plans, review, the admin, the daily
  run, imports, Celery tasks and commands read and write the primary.
- **Read-your-own-writes.** Every change a seller's pages show remembers, once it commits,
  the primary's WAL position in the shared cache for ``WRITE_MARK_SECONDS``
  (``replica_mark_written``: any POST by a user of that seller, every audit entry of the
  seller, the daily run's snapshots). A page of that seller reads from the replica only once
  the replica has replayed that position (``pg_last_wal_replay_lsn()``): exact, whatever
  the lag.
- **Falling back.** A replica that is down, is no standby, or is further behind than
  ``DATABASE_REPLICA_MAX_LAG_SECONDS`` is checked at most every
  ``DATABASE_REPLICA_CHECK_SECONDS`` in each process; meanwhile the primary serves, and one
  log line says so (one more when the replica is back). A replica that fails during a page
  has the page rendered again on the primary: never a 500 for the replica's sake.

Without DATABASE_REPLICA_URL the router has no opinion and Django's defaults apply.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from time import monotonic
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

from portal import sql as statements

logger = logging.getLogger(__name__)

# The alias of DATABASE_REPLICA_URL's database in settings.DATABASES.
REPLICA = "replica"
# A replica that does not accept a connection this fast is down: the primary serves instead.
REPLICA_CONNECT_TIMEOUT_SECONDS = 2
# How long a seller's write is remembered: longer than any lag the replica may have and still
# serve (DATABASE_REPLICA_MAX_LAG_SECONDS is at most half of it), so when a mark expires the
# replica has either replayed the write or is too far behind to be used at all.
WRITE_MARK_SECONDS = 10 * 60
# The cache keys of the marks: one for every seller (the daily run of all of them), one each.
MARK_EVERY_SELLER = "replica:written"
# SQLSTATE of a standby's query cancelled because it conflicted with replaying the primary's
# changes ("canceling statement due to conflict with recovery").
RECOVERY_CONFLICT = "40001"
# The methods that change nothing: any other request by a seller's user is a write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# The alias this request's (or task's) reads go to; None: Django's default, the primary.
_reads_from: ContextVar[str | None] = ContextVar("portal_replica_reads_from", default=None)

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)
Req = TypeVar("Req", bound=HttpRequest)


def replica_configured() -> bool:
    return REPLICA in connections.settings


class ReplicaRouter:
    """Django's database router (settings.DATABASE_ROUTERS)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return _reads_from.get()

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        # Said outright: Django would otherwise save a row where it was read from.
        return DEFAULT_DB_ALIAS if replica_configured() else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # A row read from the replica is the primary's row.
        return True if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


def read_connection(model: type[Model]) -> BaseDatabaseWrapper:
    """The connection the ORM reads ``model`` from now: raw SQL of a page reads from the same
    server as the rest of the page, so the two never disagree."""
    return connections[router.db_for_read(model)]


# ---------------------------------------------------------------------------------------
# Positions in the write-ahead log


def wal_position_value(position: str) -> int:
    """A WAL position as PostgreSQL writes it (``16/B374D848``) as a number, to compare two."""
    high, _, low = position.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def primary_wal_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(statements.PRIMARY_WAL_POSITION)
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class ReplicaState:
    """What the replica says of itself: a standby or not, whether it has replayed the
    position asked about, and the seconds since the last transaction it replayed."""

    in_recovery: bool
    replayed: bool
    seconds_behind: float | None


def lag_problem(state: ReplicaState, *, max_lag: int) -> str | None:
    """Why the replica must not serve pages now (completing "the replica …"), or None.

    A replica that has replayed what the primary had a moment ago is current, however long
    ago its last replayed transaction was (the primary may simply be quiet); one that has
    not is as far behind as the time since the last transaction it replayed."""
    if not state.in_recovery:
        return "is not a standby (pg_is_in_recovery() is false): point DATABASE_REPLICA_URL at a streaming replica"
    if state.replayed:
        return None
    if state.seconds_behind is None:
        return "has not replayed any transaction yet"
    if state.seconds_behind > max_lag:
        return (
            f"is {state.seconds_behind:.0f} s behind the primary (more than DATABASE_REPLICA_MAX_LAG_SECONDS={max_lag})"
        )
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _close_replica() -> None:
    """Drop this thread's connection to the replica, broken or not: the next use reconnects."""
    with contextlib.suppress(OperationalError, InterfaceError):
        connections[REPLICA].close()


def _where() -> str:
    """The replica as a log line names it (never its password)."""
    replica = connections.settings[REPLICA]
    return f"{replica.get('HOST') or 'localhost'}:{replica.get('PORT') or 5432}/{replica.get('NAME')}"


class Replica:
    """The replica as this process sees it: usable or not (``problem``), checked at most every
    DATABASE_REPLICA_CHECK_SECONDS, and what it has replayed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self.problem: str | None = None

    def state(self, position: str) -> ReplicaState:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(statements.REPLICA_STATE, {"position": position})
            in_recovery, replayed, seconds_behind = cursor.fetchone()
        return ReplicaState(in_recovery=in_recovery, replayed=replayed, seconds_behind=seconds_behind)

    def usable(self) -> bool:
        now = monotonic()
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < settings.DATABASE_REPLICA_CHECK_SECONDS:
                return self.problem is None
            # Other requests meanwhile go by the last verdict rather than check too.
            self._checked_at = now
        self._judge(self._check())
        return self.problem is None

    def _check(self) -> str | None:
        position = primary_wal_position()
        try:
            state = self.state(position)
        except (OperationalError, InterfaceError) as exc:
            _close_replica()
            return f"is unreachable ({_first_line(exc)})"
        return lag_problem(state, max_lag=settings.DATABASE_REPLICA_MAX_LAG_SECONDS)

    def failed(self, problem: str) -> None:
        """The replica failed under a page: the primary serves until the next check."""
        with self._lock:
            self._checked_at = monotonic()
        self._judge(problem)

    def _judge(self, problem: str | None) -> None:
        with self._lock:
            before, self.problem = self.problem, problem
        if problem is not None and before is None:
            logger.warning(
                "Reading from the primary: the replica %s %s; checking again every %s s.",
                _where(),
                problem,
                settings.DATABASE_REPLICA_CHECK_SECONDS,
            )
        elif problem is None and before is not None:
            logger.info("Reading from the replica %s again: it has caught up.", _where())

    def forget(self) -> None:
        """Start afresh, as a new process does: no verdict yet."""
        with self._lock:
            self._checked_at = None
            self.problem = None


replica = Replica()


# ---------------------------------------------------------------------------------------
# Read-your-own-writes


def _mark_key(seller_id: int) -> str:
    return f"{MARK_EVERY_SELLER}:{seller_id}"


def replica_mark_written(*, seller_ids: Iterable[int] | None) -> None:
    """Remember that these sellers' data (None: every seller's) changed on the primary, so
    their pages read from the primary until the replica has replayed the change. Inside a
    transaction, remembered when it commits: the position must come after the commit."""
    if not replica_configured():
        return
    keys = [MARK_EVERY_SELLER] if seller_ids is None else [_mark_key(pk) for pk in seller_ids]
    if keys:
        # Robust: a mark that cannot be taken is logged, and the committed write still answers.
        transaction.on_commit(functools.partial(_mark, keys), using=DEFAULT_DB_ALIAS, robust=True)


def _mark(keys: list[str]) -> None:
    cache.set_many(dict.fromkeys(keys, primary_wal_position()), WRITE_MARK_SECONDS)


def written_position(*, seller_id: int | None) -> str | None:
    """The latest remembered WAL position of a change to ``seller_id``'s data, if any."""
    keys = [MARK_EVERY_SELLER, *([_mark_key(seller_id)] if seller_id is not None else [])]
    return max(cache.get_many(keys).values(), key=wal_position_value, default=None)


# ---------------------------------------------------------------------------------------
# Pages that opt in


def replica_choice(*, seller_id: int | None) -> str | None:
    """REPLICA when a page of ``seller_id``'s data may read from the replica now, else None
    (the primary): a replica is configured and usable, and has replayed the seller's writes."""
    if not replica_configured() or not replica.usable():
        return None
    position = written_position(seller_id=seller_id)
    if position is None:
        return REPLICA
    try:
        state = replica.state(position)
    except (OperationalError, InterfaceError) as exc:
        _close_replica()
        replica.failed(f"is unreachable ({_first_line(exc)})")
        return None
    return REPLICA if state.replayed else None


def _replica_failed(exc: OperationalError | InterfaceError) -> bool:
    """Whether ``exc``, raised while a page read from the replica, is the replica's failure
    (then noted) rather than the primary's or the page's own."""
    if not connections[REPLICA].errors_occurred:
        return False
    if getattr(exc.__cause__, "sqlstate", None) == RECOVERY_CONFLICT:
        logger.info("A page's query on the replica %s met a recovery conflict; rendering it on the primary.", _where())
        return True
    _close_replica()
    replica.failed(f"failed during a page ({_first_line(exc)})")
    return True


def _streamed_from(alias: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A streamed response's chunks, each made while reads go to ``alias``: the chunks are
    made after the view has returned, as the server sends them."""
    while True:
        token = _reads_from.set(alias)
        try:
            chunk = next(chunks, None)
        finally:
            _reads_from.reset(token)
        if chunk is None:
            return
        yield chunk


def replica_serve(render: Callable[[], R], *, seller_id: int | None) -> R:
    """``render()``'s response, its reads from the replica when ``replica_choice`` allows;
    rendered again on the primary if the replica fails under it (its reads are reads only).
    A streamed response reads from the replica while it streams."""
    alias = replica_choice(seller_id=seller_id)
    if alias is None:
        return render()
    token = _reads_from.set(alias)
    try:
        response = render()
    except (OperationalError, InterfaceError) as exc:
        if not _replica_failed(exc):
            raise
    else:
        if isinstance(response, StreamingHttpResponse):
            content = response.streaming_content
            if isinstance(content, Iterator):
                response.streaming_content = _streamed_from(alias, content)
        return response
    finally:
        _reads_from.reset(token)
    return render()


def replica_reads(view: Callable[Concatenate[Req, P], R]) -> Callable[Concatenate[Req, P], R]:
    """A read-only page whose reads may go to the replica (``replica_serve``) for the
    logged-in user's seller. Nearest the view, below login_required, so the session and the
    user are read from the primary first."""

    @functools.wraps(view)
    def wrapped(request: Req, *args: P.args, **kwargs: P.kwargs) -> R:
        seller_id = getattr(request.user, "seller_id", None)
        return replica_serve(functools.partial(view, request, *args, **kwargs), seller_id=seller_id)

    return wrapped


class ReplicaWritesMiddleware:
    """After a write by a user of a seller (any request but GET, HEAD, OPTIONS and TRACE),
    that seller's pages read from the primary until the replica has replayed it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and replica_configured():
            seller_id = getattr(getattr(request, "user", None), "seller_id", None)
            if seller_id is not None:
                replica_mark_written(seller_ids=[seller_id])
        return response
