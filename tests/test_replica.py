"""The read replica for real (issue 18): a PostgreSQL streaming replica of the test server,
started on this machine with pg_basebackup on a second port (portal/streaming_replica.py), serves the
read-only pages; a seller's own write is read back at once even while the replica lags; a
replica that stops falls back to the primary with one log line.

Under CI=true the replica must start. Elsewhere the module skips only when this machine has no
PostgreSQL binaries of the server's version (pg_basebackup, pg_ctl, postgres), and says so.
"""

from __future__ import annotations

import logging
import os

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.models import DailySnapshot, MetricSnapshot
from metrics.services import daily_run
from portal import routers
from portal.routers import REPLICA, primary_wal_position, written_position
from portal.streaming_replica import ReplicaBinariesMissing, streaming_replica
from sellers.factories import D, OrderFactory
from sellers.models import VolumeControlChange
from tests.replica import replica_alias

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, databases=["default", REPLICA])]

DASHBOARD = reverse("metrics:dashboard")
DEFECTS_CSV = reverse("metrics:defects_csv")
API = reverse("metrics:api_performance")
SNAPSHOT_TABLES = (DailySnapshot._meta.db_table, MetricSnapshot._meta.db_table)


@pytest.fixture(scope="module")
def server(django_db_setup):
    """A streaming replica of the test server for the module, DATABASE_REPLICA_URL's alias
    pointing at it."""
    try:
        replica = streaming_replica(connections["default"].settings_dict)
        started = replica.__enter__()
    except ReplicaBinariesMissing as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Under CI the replica test needs this: {missing}", pytrace=False)
        pytest.skip(str(missing))
    try:
        with replica_alias(HOST=started.host, PORT=str(started.port)):
            yield started
    finally:
        replica.__exit__(None, None, None)


@pytest.fixture
def in_use(server, settings, locmem_cache):
    """The replica checked on every request, allowed to lag (a paused replay), and the writes
    remembered in a real cache; the replica replaying again afterwards."""
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 300
    routers.replica.forget()
    yield server
    server.resume_replay()
    routers.replica.forget()


@pytest.fixture
def computed(seller, other_seller, make_orders):
    make_orders(
        *(OrderFactory.build(seller=seller) for _ in range(3)),
        OrderFactory.build(seller=seller, late_shipment=1, late_delivery=1),
        *(OrderFactory.build(seller=other_seller) for _ in range(2)),
    )
    daily_run(day=D)
    return seller


def reads_snapshots(queries: CaptureQueriesContext) -> bool:
    return any(table in query["sql"] for query in queries.captured_queries for table in SNAPSHOT_TABLES)


def get(client: Client, url: str):
    """The response to GET ``url``, a streamed one read to its end, with the queries each
    server answered meanwhile: (response, on_replica, on_primary)."""
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    return response, on_replica, on_primary


def test_the_dashboard_the_defect_report_and_the_api_are_read_from_the_streaming_replica(
    client, seller_user, computed, in_use, clock
):
    client.force_login(seller_user)
    in_use.wait_for_replay(primary_wal_position())
    for url in (DASHBOARD, DEFECTS_CSV, API):
        response, on_replica, on_primary = get(client, url)
        assert response.status_code == 200, url
        assert reads_snapshots(on_replica) and not reads_snapshots(on_primary), url
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')::int")
        assert cursor.fetchone() == (True, in_use.port)


def test_a_sellers_own_write_is_read_back_at_once_while_the_replica_lags(
    client, seller_user, other_seller_user, computed, in_use, clock
):
    client.force_login(seller_user)
    in_use.wait_for_replay(primary_wal_position())
    in_use.pause_replay()

    assert client.post(reverse("sellers:volume_control"), {"daily_cap": "7"}).status_code == 302
    with in_use.connect(connections["default"].settings_dict["NAME"]) as on_replica:
        table = VolumeControlChange._meta.db_table
        assert on_replica.execute(f"SELECT count(*) FROM {table} WHERE daily_cap = 7").fetchone() == (0,)

    response, on_replica, on_primary = get(client, API)
    assert response.json()["volume_control"]["daily_cap"] == 7
    assert reads_snapshots(on_primary) and not reads_snapshots(on_replica)

    # Another seller, who wrote nothing, is still served by the replica, lagging or not.
    other = Client()
    other.force_login(other_seller_user)
    response, on_replica, _ = get(other, API)
    assert response.status_code == 200 and reads_snapshots(on_replica)

    # Once the replica has replayed the write, the seller's pages read from it again.
    in_use.resume_replay()
    in_use.wait_for_replay(written_position(seller_id=seller_user.seller_id))
    response, on_replica, on_primary = get(client, API)
    assert response.json()["volume_control"]["daily_cap"] == 7
    assert reads_snapshots(on_replica) and not reads_snapshots(on_primary)


def test_a_replica_that_stops_falls_back_to_the_primary_with_one_log_line(
    client, seller_user, computed, in_use, caplog, clock
):
    client.force_login(seller_user)
    in_use.wait_for_replay(primary_wal_position())
    assert reads_snapshots(get(client, DASHBOARD)[1])
    in_use.stop()
    try:
        with (
            caplog.at_level(logging.WARNING, logger="portal.routers"),
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            responses = [client.get(url) for url in (DASHBOARD, DEFECTS_CSV, API)]
            b"".join(responses[1].streaming_content)
        assert [response.status_code for response in responses] == [200, 200, 200]
        assert reads_snapshots(on_primary)
        assert len(caplog.records) == 1
        assert "is unreachable" in caplog.records[0].getMessage()
    finally:
        in_use.start()
