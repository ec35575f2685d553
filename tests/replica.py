"""The replica's Django alias for tests/test_replica.py and tests/test_routers.py; the replica
server itself is portal.streaming_replica (shared with the benchmark, bench/replica_bench.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connections

from portal.routers import REPLICA


@contextlib.contextmanager
def replica_alias(**changes: str) -> Iterator[dict[str, Any]]:
    """The replica alias DATABASE_REPLICA_URL makes (portal.settings), while the block runs: the
    test database's settings, with ``changes`` (the replica's HOST and PORT), a mirror of
    ``default`` in tests. Added where Django's test cases look for the aliases they may use, so a
    test lists it in ``databases``; the block yields its settings, which a test may change (close
    the connection first)."""
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {**primary, "TEST": {**primary["TEST"], "MIRROR": "default"}, **changes}
    try:
        yield connections.settings[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
