"""The portal's own raw SQL: what the read replica's router asks the servers
(``portal.routers``), composed with ``psycopg.sql``. Values travel as named placeholders
(their names are in each comment) for the caller's cursor to fill. And ``ids_among``, for
the ORM's ``__in`` lookups of many ids."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.expressions import RawSQL
from psycopg import sql


def ids_among(ids: Iterable[int]) -> RawSQL:
    """``ids`` for an ``__in`` lookup as one array parameter, ``IN (SELECT unnest(...))``: the
    daily run hands thousands of sellers to what follows it (those revoked, those entering at
    risk), and as that many parameters a lookup took 33 ms instead of 3.5 (full scale)."""
    return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))


# Where the primary's write-ahead log ends now: every transaction committed before it is at or
# below it. The insert position, not the written one, so it holds whatever synchronous_commit
# says.
PRIMARY_WAL_POSITION = sql.SQL("SELECT pg_current_wal_insert_lsn()::text").as_string()

# On the replica: whether it is a standby at all, whether it has replayed the primary's
# ``%(position)s``, and the seconds since the last transaction it replayed (NULL before the
# first). A primary answers false, false, NULL.
REPLICA_STATE = (
    sql.SQL(
        "SELECT pg_is_in_recovery(), "
        "coalesce(pg_last_wal_replay_lsn() >= {position}::pg_lsn, false), "
        "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
    )
    .format(position=sql.Placeholder("position"))
    .as_string()
)
